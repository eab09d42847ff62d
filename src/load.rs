//! Load: bytes on disk → a YAML [`Document`] whose every node keeps its source span.
//!
//! Input: a path. Output: the document (a tree of `Node`s plus an index from
//! JSON pointer to span) or diagnostics. Invariants: no input makes this stage
//! panic, hang or allocate without bound — the file size is capped, the tree is
//! built without recursion with a depth cap, and alias expansion has a budget.
//! Scalars resolve by the YAML 1.2 core schema (`no` and `on` stay strings).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

mod json;

use json::{PlaceIndex, to_json};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan, Tag};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, Locate, Pos, Span};

/// Largest spec accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Mappings with fewer entries are checked for duplicate keys by a scan.
const SCAN_KEYS: usize = 16;
/// Deepest nesting accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes a document may hold after alias expansion, a mapping counted
/// as [`MAPPING_WEIGHT`] nodes: the bound that keeps `validate` of any input
/// under 100 MB (a test holds every shape of document at the bound to it). A
/// spec of 10,000 domains each with its own settings counts about 190,000; a
/// group of domains that share settings counts one per domain.
pub const MAX_NODES: usize = 250_000;
/// What a mapping counts against [`MAX_NODES`]: its JSON form is a B-tree
/// whose first node takes about 600 bytes, eight times a scalar's share.
pub const MAPPING_WEIGHT: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key: keys are strings in this language (scalars are taken by their text).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: NodeValue,
    pub(crate) span: Span,
    /// For a plain scalar read as a number or bool, the text as written (for
    /// "quote it" hints).
    pub(crate) plain: Option<String>,
}

/// Where a node is: its value's span and, for a mapping entry, its key's span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Place {
    pub(crate) key: Option<Span>,
    pub(crate) value: Span,
}

/// A loaded spec file.
#[derive(Debug)]
pub struct Document {
    pub(crate) file: String,
    pub(crate) text: String,
    /// Where the whole document is.
    pub(crate) root_span: Span,
    /// The document as JSON, what the schema and the spec types see. (The
    /// YAML tree it was built from is consumed on the way: strings are moved,
    /// never held twice.)
    pub json: Value,
    /// JSON pointer (`/a/b/0`) → place in the source.
    pub(crate) index: PlaceIndex,
    /// Line of an allow comment → pointers of the nodes whose key (or list
    /// item) starts on it: what the comment covers, nested nodes included.
    pub(crate) allow_scopes: HashMap<u32, Vec<String>>,
    /// `# mailinfra: allow CODE…` comments, in source order.
    pub allows: Vec<Allow>,
}

/// A `# mailinfra: allow CODE, CODE` comment: the codes it silences and the
/// line it applies to (its own line, or for a comment alone on its line, the
/// next line that holds content).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    /// Where the comment is.
    pub(crate) span: Span,
    /// The line whose node the comment applies to.
    pub line: u32,
    /// The codes as written, upper-cased.
    pub(crate) codes: Vec<String>,
}

/// The marker that starts an allow comment.
pub(crate) const ALLOW_MARKER: &str = "mailinfra: allow";

/// Diagnostics found by spec pointer are placed in the source through this.
impl Locate for Document {
    fn span_of(&self, pointer: &str) -> Span {
        Document::span_of(self, pointer)
    }

    fn key_span_of(&self, pointer: &str) -> Span {
        Document::key_span_of(self, pointer)
    }
}

impl Document {
    /// The span for a JSON pointer, falling back to the nearest ancestor that exists.
    pub(crate) fn span_of(&self, pointer: &str) -> Span {
        self.place_of(pointer).value
    }

    /// The span of the key of a mapping entry (or the value when there is no key).
    pub(crate) fn key_span_of(&self, pointer: &str) -> Span {
        let place = self.place_of(pointer);
        place.key.unwrap_or(place.value)
    }

    /// The source text of a one-line span (a plain scalar as written).
    pub(crate) fn source_text(&self, span: Span) -> Option<&str> {
        if span.start.line != span.end.line || span.start.line == 0 {
            return None;
        }
        let line = self.text.lines().nth(span.start.line as usize - 1)?;
        let byte = |col: u32| {
            line.char_indices()
                .map(|(b, _)| b)
                .chain(std::iter::once(line.len()))
                .nth(col.saturating_sub(1) as usize)
        };
        line.get(byte(span.start.col)?..byte(span.end.col)?)
    }

    pub(crate) fn place_of(&self, pointer: &str) -> Place {
        let mut p = pointer;
        loop {
            if let Some(place) = self.index.get(p) {
                return *place;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return Place {
                        key: None,
                        value: self.root_span,
                    };
                }
            }
        }
    }

    /// Parses in-memory text (the file name is used in diagnostics only).
    pub fn parse(file: &str, text: String) -> Result<Document, Vec<Diagnostic>> {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        if let Some(offset) = text.find('\0') {
            let pos = pos_of_byte(&text, offset);
            return Err(vec![
                Diagnostic::error(
                    Code::MI1003,
                    format!("the file holds a NUL byte at byte offset {offset}"),
                )
                .at(Span {
                    start: pos,
                    end: pos,
                })
                .help("a spec is UTF-8 text; remove the NUL byte (was a binary file given?)"),
            ]);
        }
        let root = build_tree(&text)?;
        let root = match root {
            None => {
                return Err(vec![
                    Diagnostic::error(Code::MI1005, "the file is empty")
                        .at(Span::at(1, 1))
                        .help("start from a blueprint: `mailinfra init --blueprint NAME`, or write `version: 1` and `project: NAME`"),
                ]);
            }
            Some(root) => root,
        };
        if !matches!(root.value, NodeValue::Map(_)) {
            let what = kind_name(&root.value);
            return Err(vec![
                Diagnostic::error(Code::MI1007, format!("the document root is {what}, not a mapping"))
                    .at(root.span)
                    .help("a spec is a mapping of top-level keys such as `version:`, `project:` and `regions:`"),
            ]);
        }
        let allows = allow_comments(&text);
        let lines = allows.iter().map(|a| a.line).collect();
        let root_span = root.span;
        let nodes = count_nodes(&root);
        let (json, got) = to_json(root, nodes, &lines);
        Ok(Document {
            file: file.to_string(),
            text,
            root_span,
            json,
            index: got.index,
            allow_scopes: got.scopes,
            allows,
        })
    }
}

/// Finds `# mailinfra: allow CODE…` comments. A `#` starts a comment at the
/// start of a line or after white space, outside quotes (YAML's rule; a `#`
/// inside a multi-line quoted scalar is not told apart, which is harmless).
fn allow_comments(text: &str) -> Vec<Allow> {
    let mut out = Vec::new();
    let mut pending: Vec<Allow> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i as u32 + 1;
        let comment = comment_start(line);
        let content = line[..comment.unwrap_or(line.len())].trim();
        if !content.is_empty() {
            for mut a in pending.drain(..) {
                a.line = lineno;
                out.push(a);
            }
        }
        let Some(at) = comment else { continue };
        let body = line[at + 1..].trim();
        let Some(rest) = body.strip_prefix(ALLOW_MARKER) else {
            continue;
        };
        let codes = rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        let col = line[..at].chars().count() as u32 + 1;
        let allow = Allow {
            span: Span {
                start: Pos { line: lineno, col },
                end: Pos {
                    line: lineno,
                    col: line.chars().count() as u32 + 1,
                },
            },
            line: lineno,
            codes,
        };
        if content.is_empty() {
            pending.push(allow);
        } else {
            out.push(allow);
        }
    }
    // A trailing comment with nothing after it applies to nothing; keep it so it can be reported.
    out.extend(pending);
    out
}

/// The byte offset of the `#` that starts a comment on `line`, if any.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && prev_space => return Some(i),
            None if (c == '"' || c == '\'') && prev_space_or_indicator(line, i) => quote = Some(c),
            None => {}
        }
        prev_space = c.is_whitespace();
    }
    None
}

/// Whether a quote at byte `i` opens a quoted scalar (it follows white space or `:[{,-`).
fn prev_space_or_indicator(line: &str, i: usize) -> bool {
    line[..i]
        .chars()
        .next_back()
        .is_none_or(|p| p.is_whitespace() || "[{,:-".contains(p))
}

/// Reads and parses the spec at `path`.
pub(crate) fn load(path: &Path) -> Result<Document, (Option<String>, Vec<Diagnostic>)> {
    let file = path.display().to_string();
    let text = read_text(path).map_err(|d| (None, vec![d]))?;
    Document::parse(&file, text.clone()).map_err(|d| (Some(text), d))
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] as UTF-8.
#[allow(clippy::result_large_err)] // a diagnostic is the error, once per file
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| io_diag(path, &e))?;
    if meta.is_dir() {
        return Err(Diagnostic::error(
            Code::MI1001,
            format!("`{shown}` is a directory, not a spec file"),
        )
        .help("name the spec file itself, e.g. `-f mailinfra.yaml`"));
    }
    if !meta.is_file() {
        return Err(Diagnostic::error(
            Code::MI1001,
            format!("`{shown}` is not a regular file (a FIFO, socket or device)"),
        )
        .help("write the spec to a regular file and pass its path"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let f = std::fs::File::open(path).map_err(|e| io_diag(path, &e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow between stat and read; never read past the cap.
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_diag(path, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    decode(bytes)
}

fn too_large(path: &Path, len: u64) -> Diagnostic {
    Diagnostic::error(
        Code::MI1002,
        format!(
            "`{}` is {len} bytes, over the {} MiB limit for a spec",
            path.display(),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
    .help("a spec this large is almost certainly the wrong file; thousands of domains fit in well under 1 MiB with the compact `domains:` list form")
}

fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    let shown = path.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => Diagnostic::error(
            Code::MI1001,
            format!("`{shown}` does not exist"),
        )
        .help("pass the spec with `-f FILE`, or create one with `mailinfra init --blueprint NAME`"),
        std::io::ErrorKind::PermissionDenied => Diagnostic::error(
            Code::MI1001,
            format!("`{shown}` cannot be read: permission denied"),
        )
        .help("check the file's permissions"),
        _ => Diagnostic::error(Code::MI1001, format!("`{shown}` cannot be read: {e}")),
    }
}

/// UTF-8 only; UTF-16 is recognised by its byte-order mark and named.
#[allow(clippy::result_large_err)] // a diagnostic is the error, once per file
fn decode(bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(
            Diagnostic::error(Code::MI1003, "the file is UTF-16, not UTF-8")
                .at(Span::at(1, 1))
                .help("save the file as UTF-8"),
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
        let pos = pos_of_byte(valid, offset);
        Diagnostic::error(
            Code::MI1003,
            format!("the file is not valid UTF-8 at byte offset {offset}"),
        )
        .at(Span {
            start: pos,
            end: pos,
        })
        .help("save the file as UTF-8")
    })
}

/// Line and column (1-based, in characters) of a byte offset.
fn pos_of_byte(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() as u32 + 1;
    Pos { line, col }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

fn span(s: &YSpan) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

fn kind_name(v: &NodeValue) -> &'static str {
    match v {
        NodeValue::Null => "empty",
        NodeValue::Bool(_) => "a boolean",
        NodeValue::Int(_) | NodeValue::Float(_) => "a number",
        NodeValue::Str(_) => "a string",
        NodeValue::Seq(_) => "a list",
        NodeValue::Map(_) => "a mapping",
    }
}

enum Frame {
    Seq {
        anchor: usize,
        start: Span,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        start: Span,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        seen: HashMap<String, Span>,
    },
}

impl Frame {
    /// The node a closed collection makes, with the anchor it was declared under.
    fn finish(self) -> (usize, Node) {
        match self {
            Frame::Seq {
                anchor,
                start,
                items,
            } => {
                let end = items.last().map_or(start.end, |n| n.span.end);
                (
                    anchor,
                    Node {
                        value: NodeValue::Seq(items),
                        span: Span {
                            start: start.start,
                            end,
                        },
                        plain: None,
                    },
                )
            }
            Frame::Map {
                anchor,
                start,
                entries,
                ..
            } => {
                let end = entries.last().map_or(start.end, |(_, n)| n.span.end);
                (
                    anchor,
                    Node {
                        value: NodeValue::Map(entries),
                        span: Span {
                            start: start.start,
                            end,
                        },
                        plain: None,
                    },
                )
            }
        }
    }
}

/// What [`build_tree`] holds between events: the open collections, the
/// anchored nodes, the counts the caps limit, and the findings so far.
#[derive(Default)]
struct Tree {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    diags: Vec<Diagnostic>,
}

/// Builds the node tree from parser events without recursion.
fn build_tree(text: &str) -> Result<Option<Node>, Vec<Diagnostic>> {
    let mut parser = Parser::new_from_str(text);
    let mut tree = Tree::default();
    for event in parser.by_ref() {
        let (event, ys) = match event {
            Ok(e) => e,
            Err(e) => return Err(vec![syntax_error(text, &e)]),
        };
        if let Some(node) = tree.event(event, span(&ys))? {
            tree.place(node);
        }
    }
    tree.finish()
}

impl Tree {
    /// Takes one parser event; a node it finishes comes back for its parent.
    fn event(&mut self, event: Event<'_>, sp: Span) -> Result<Option<Node>, Vec<Diagnostic>> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(None),
            Event::DocumentStart(_) => self.start_document(sp).map(|()| None),
            Event::Alias(id) => self.alias(id, sp).map(Some),
            Event::Scalar(value, style, anchor, tag) => self
                .scalar(&value, style, anchor, tag.as_deref(), sp)
                .map(Some),
            Event::SequenceStart(anchor, tag) => {
                self.open(true, anchor, tag.as_deref(), sp).map(|()| None)
            }
            Event::MappingStart(anchor, tag) => {
                self.open(false, anchor, tag.as_deref(), sp).map(|()| None)
            }
            Event::SequenceEnd | Event::MappingEnd => Ok(self.close()),
        }
    }

    /// A spec is one YAML document: a second one is refused.
    fn start_document(&mut self, sp: Span) -> Result<(), Vec<Diagnostic>> {
        self.documents += 1;
        if self.documents > 1 {
            return Err(vec![
                Diagnostic::error(Code::MI1006, "the file holds more than one YAML document")
                    .at(sp)
                    .help("a spec is one document: remove this `---` and what follows, or merge it into the first document"),
            ]);
        }
        Ok(())
    }

    /// A copy of the anchored node, every node of it counted against [`MAX_NODES`].
    fn alias(&mut self, id: usize, sp: Span) -> Result<Node, Vec<Diagnostic>> {
        let Some(n) = self.anchors.get(&id) else {
            return Err(vec![
                Diagnostic::error(Code::MI1004, "an alias refers to an unknown anchor").at(sp),
            ]);
        };
        let count = weigh(n);
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > MAX_NODES {
            return Err(vec![
                Diagnostic::error(Code::MI1009, format!("aliases expand the document to more than {MAX_NODES} nodes"))
                    .at(sp)
                    .help("this looks like an alias bomb; write the values out or use fewer nested aliases"),
            ]);
        }
        let mut n = n.clone();
        n.span = sp;
        Ok(n)
    }

    /// A scalar node: its tag is judged, then it is counted and resolved.
    fn scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        sp: Span,
    ) -> Result<Node, Vec<Diagnostic>> {
        if let Some(tag) = tag.filter(|t| !t.is_yaml_core_schema()) {
            self.diags.push(unsupported_tag(
                tag,
                sp,
                "CloudFormation short forms such as `!Ref X` are not YAML the spec accepts; write the long form, e.g. `{ Ref: X }`",
            ));
        }
        self.count(sp, 1)?;
        let node = scalar(value, style, sp);
        self.remember(anchor, &node);
        Ok(node)
    }

    /// Opens a sequence or mapping: its tag is judged, then the depth and node caps.
    fn open(
        &mut self,
        is_seq: bool,
        anchor: usize,
        tag: Option<&Tag>,
        sp: Span,
    ) -> Result<(), Vec<Diagnostic>> {
        if let Some(tag) = tag.filter(|t| !t.is_yaml_core_schema()) {
            self.diags.push(unsupported_tag(tag, sp, "remove the tag"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(vec![
                Diagnostic::error(
                    Code::MI1010,
                    format!("the document nests deeper than {MAX_DEPTH} levels"),
                )
                .at(sp)
                .help("no valid spec nests this deep; check the indentation or brackets here"),
            ]);
        }
        self.count(sp, if is_seq { 1 } else { MAPPING_WEIGHT })?;
        self.stack.push(if is_seq {
            Frame::Seq {
                anchor,
                start: sp,
                items: Vec::new(),
            }
        } else {
            Frame::Map {
                anchor,
                start: sp,
                entries: Vec::new(),
                key: None,
                seen: HashMap::new(),
            }
        });
        Ok(())
    }

    /// Closes the innermost collection into its node (an end with none open is ignored).
    fn close(&mut self) -> Option<Node> {
        let (anchor, node) = self.stack.pop()?.finish();
        self.remember(anchor, &node);
        Some(node)
    }

    /// Counts one more node of `weight` against [`MAX_NODES`].
    fn count(&mut self, sp: Span, weight: usize) -> Result<(), Vec<Diagnostic>> {
        self.nodes += weight;
        if self.nodes > MAX_NODES {
            return Err(vec![too_many_nodes(sp)]);
        }
        Ok(())
    }

    /// Keeps a node declared under an anchor (`0` is no anchor) for its aliases.
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    /// Places a finished node in its parent: as the root, a list item, or a
    /// mapping's key (judged for duplicates) or value.
    fn place(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, key, seen, ..
            }) => match key.take() {
                None => {
                    let name = key_name(&node, &mut self.diags);
                    if let Some(first) = first_use(entries, seen, &name, node.span) {
                        self.diags.push(duplicate_key(&name, first, node.span));
                    }
                    *key = Some(Key {
                        name,
                        span: node.span,
                    });
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn finish(self) -> Result<Option<Node>, Vec<Diagnostic>> {
        if self.diags.is_empty() {
            // `key: ` with nothing after it is a null value, which the parser reports as a scalar.
            Ok(self.root.filter(|r| r.value != NodeValue::Null))
        } else {
            Err(self.diags)
        }
    }
}

fn unsupported_tag(tag: &Tag, at: Span, help: &str) -> Diagnostic {
    Diagnostic::error(
        Code::MI1012,
        format!(
            "the YAML tag `{}{}` is not supported",
            tag.handle, tag.suffix
        ),
    )
    .at(at)
    .help(help)
}

/// A mapping key's name: its text (a key that is a list or mapping is reported).
fn key_name(node: &Node, diags: &mut Vec<Diagnostic>) -> String {
    match &node.value {
        NodeValue::Str(s) => s.clone(),
        NodeValue::Null => String::new(),
        NodeValue::Seq(_) | NodeValue::Map(_) => {
            diags.push(
                Diagnostic::error(
                    Code::MI1011,
                    "a mapping key must be a plain value, not a list or mapping",
                )
                .at(node.span)
                .help("keys are names such as `identities` or a domain"),
            );
            String::new()
        }
        _ => node.plain.clone().unwrap_or_default(),
    }
}

/// Where `name` is already a key of a mapping (the new key is at `at`).
/// Small mappings are scanned; large ones (a domain list) get an index, `seen`.
fn first_use(
    entries: &[(Key, Node)],
    seen: &mut HashMap<String, Span>,
    name: &str,
    at: Span,
) -> Option<Span> {
    if entries.len() < SCAN_KEYS {
        return entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.span);
    }
    if seen.is_empty() {
        for (k, _) in entries {
            seen.entry(k.name.clone()).or_insert(k.span);
        }
    }
    let first = seen.get(name).copied();
    if first.is_none() {
        seen.insert(name.to_string(), at);
    }
    first
}

fn duplicate_key(name: &str, first: Span, at: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MI1008,
        format!(
            "duplicate key `{name}` (first on line {})",
            first.start.line
        ),
    )
    .at(at)
    .related(first, format!("`{name}` is first defined here"))
    .help("a key may appear once per mapping: merge the two entries or rename one")
}

fn too_many_nodes(at: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MI1009,
        format!("the document has more than {MAX_NODES} nodes"),
    )
    .at(at)
    .help(format!(
        "a mapping counts as {MAPPING_WEIGHT} nodes; list domains that share settings in a group \
         (`identities: {{ NAME: {{ domains: [...] }} }}`, one node per domain), or check that this is the right file"
    ))
}

/// What `n` counts against [`MAX_NODES`], mappings weighed.
fn weigh(n: &Node) -> usize {
    let mut weight = 0usize;
    let mut todo = vec![n];
    while let Some(n) = todo.pop() {
        match &n.value {
            NodeValue::Seq(items) => {
                weight += 1;
                todo.extend(items.iter());
            }
            NodeValue::Map(entries) => {
                weight += MAPPING_WEIGHT;
                todo.extend(entries.iter().map(|(_, v)| v));
            }
            _ => weight += 1,
        }
    }
    weight
}

fn count_nodes(n: &Node) -> usize {
    let mut count = 0usize;
    let mut todo = vec![n];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            NodeValue::Seq(items) => todo.extend(items.iter()),
            NodeValue::Map(entries) => todo.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}

fn syntax_error(text: &str, e: &saphyr_parser::ScanError) -> Diagnostic {
    let m = e.marker();
    let p = pos(m);
    let info = e.info();
    let line = text.lines().nth(m.line().saturating_sub(1)).unwrap_or("");
    let tab_indent = line.trim_start_matches(' ').starts_with('\t');
    let help = if tab_indent || info.contains("tab") {
        "YAML indents with spaces only: replace the tabs at the start of this line with spaces"
    } else if info.contains("recursion limit") {
        "no valid spec nests this deep; check the brackets here"
    } else {
        "check the indentation and quoting around this position"
    };
    let code = if info.contains("recursion limit") {
        Code::MI1010
    } else {
        Code::MI1004
    };
    Diagnostic::error(code, format!("invalid YAML: {info}"))
        .at(Span { start: p, end: p })
        .help(help)
}

/// Resolves a scalar by the YAML 1.2 core schema.
fn scalar(text: &str, style: ScalarStyle, sp: Span) -> Node {
    let mk = |value, plain: bool| Node {
        value,
        span: sp,
        plain: plain.then(|| text.to_string()),
    };
    if style != ScalarStyle::Plain {
        return mk(NodeValue::Str(text.to_string()), false);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return mk(NodeValue::Null, true),
        "true" | "True" | "TRUE" => return mk(NodeValue::Bool(true), true),
        "false" | "False" | "FALSE" => return mk(NodeValue::Bool(false), true),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return mk(NodeValue::Int(i), true);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return mk(NodeValue::Float(f), true);
    }
    mk(NodeValue::Str(text.to_string()), false)
}

fn parse_int(t: &str) -> Option<i64> {
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    None
}

fn is_float(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            'e' | 'E' if seen_digit => {
                if matches!(chars.peek(), Some('+' | '-')) {
                    chars.next();
                }
                return chars.peek().is_some() && chars.all(|c| c.is_ascii_digit());
            }
            _ => return false,
        }
    }
    seen_digit
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Document, Vec<Diagnostic>> {
        Document::parse("t.yaml", src.to_string())
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = parse("version: 1\nidentities:\n  example.com:\n    dkim: easy\n").unwrap();
        let place = doc.place_of("/identities/example.com/dkim");
        assert_eq!(
            place.key,
            Some(Span {
                start: Pos { line: 4, col: 5 },
                end: Pos { line: 4, col: 9 }
            })
        );
        assert_eq!(place.value.start, Pos { line: 4, col: 11 });
        assert_eq!(doc.json["identities"]["example.com"]["dkim"], "easy");
    }

    #[test]
    fn core_schema_scalars() {
        let doc =
            parse("a: no\nb: on\nc: 0755\nd: 1.10\ne: '1.10'\nf: ~\ng: 0x1F\nh: 1e3\ni: .inf\n")
                .unwrap();
        assert_eq!(doc.json["a"], "no");
        assert_eq!(doc.json["b"], "on");
        assert_eq!(doc.json["c"], 755);
        assert_eq!(doc.json["d"], 1.1);
        assert_eq!(doc.json["e"], "1.10");
        assert!(doc.json["f"].is_null());
        assert_eq!(doc.json["g"], 31);
        assert_eq!(doc.json["h"], 1000.0);
        assert_eq!(doc.json["i"], ".inf");
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].code, "MI1008");
        assert_eq!(err[0].span.unwrap().start.line, 3);
        assert_eq!(err[0].related[0].0.start.line, 1);
    }

    #[test]
    fn pointer_escaping() {
        let doc = parse("a/b:\n  c~d: 1\n").unwrap();
        assert_eq!(doc.place_of("/a~1b/c~0d").value.start.line, 2);
    }
}
