//! The one table helper: left-aligned columns two spaces apart, each as wide
//! as its widest cell (or a minimum), the last column unpadded and trailing
//! blanks trimmed. A cell may be painted; its width is that of its text.

use std::fmt::Write as _;

use super::paint::Paint;

/// A table being filled in, row by row.
pub(crate) struct Table {
    header: Vec<String>,
    min: Vec<usize>,
    rows: Vec<Vec<Cell>>,
}

/// One cell: its text and, when painted, the ANSI style it is drawn in.
pub(crate) struct Cell {
    text: String,
    style: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, style: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

impl Cell {
    /// `text` drawn in `style` (an SGR code such as `1;31`) when colour is on.
    pub(crate) fn painted(text: impl Into<String>, style: Option<&'static str>) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

impl Table {
    pub(crate) fn new<const N: usize>(header: [&str; N]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_string()).collect(),
            min: vec![0; N],
            rows: Vec::new(),
        }
    }

    /// Column `column` is at least `width` characters wide.
    pub(crate) fn min_width(mut self, column: usize, width: usize) -> Table {
        if let Some(m) = self.min.get_mut(column) {
            *m = width;
        }
        self
    }

    pub(crate) fn row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// The table as lines of text, painted when `paint` is on.
    pub(crate) fn render(&self, paint: Paint) -> String {
        let mut width: Vec<usize> = self
            .header
            .iter()
            .zip(&self.min)
            .map(|(h, m)| h.chars().count().max(*m))
            .collect();
        for row in &self.rows {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.text.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<Cell> = self.header.iter().map(|h| Cell::from(h.as_str())).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            let last = row.len().saturating_sub(1);
            for (i, (c, w)) in row.iter().zip(&width).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = if i == last {
                    0
                } else {
                    w.saturating_sub(c.text.chars().count())
                };
                let padded = format!("{}{}", c.text, " ".repeat(pad));
                match c.style {
                    Some(style) => line.push_str(&paint.wrap(style, &padded)),
                    None => line.push_str(&padded),
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell_and_the_last_is_not_padded() {
        let mut t = Table::new(["a", "bb", "c"]).min_width(1, 4);
        t.row(["xyz".into(), "1".into(), "".into()]);
        t.row(["q".into(), "22".into(), "end".into()]);
        assert_eq!(
            t.render(Paint { on: false }),
            "a    bb    c\nxyz  1\nq    22    end\n"
        );
    }

    #[test]
    fn paint_does_not_count_towards_the_width() {
        let mut t = Table::new(["k", "v"]);
        t.row([Cell::painted("on", Some("32")), "x".into()]);
        t.row(["long".into(), "y".into()]);
        let text = t.render(Paint { on: true });
        assert!(text.contains("\x1b[32mon  \x1b[0m  x"), "{text:?}");
        assert!(text.contains("long  y"), "{text:?}");
    }
}
