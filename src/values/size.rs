//! Sizes: bytes, or a number with a unit.

/// `25MB` → 25 000 000; `10 MiB` → 10 485 760; `4096` → 4096 bytes. Units: B,
/// KB (or kB), MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024); the
/// number may have a fraction (`1.5KB`). From 1 byte to 10^15 bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let factor: u64 = match unit {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` is not a size unit; use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let bytes = value * factor as f64;
    if !(bytes.is_finite() && (1.0..=1e15).contains(&bytes)) {
        return Err(format!("`{text}` is not a usable size"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("25MB"), Ok(25_000_000));
        assert_eq!(parse_size("10 MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1.5KB"), Ok(1500));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("10 parsecs").unwrap_err().contains("unit"));
        assert!(parse_size("MB").is_err());
        assert!(parse_size("0B").unwrap_err().contains("usable"));
        assert!(parse_size("2000000GB").unwrap_err().contains("usable"));
    }
}
