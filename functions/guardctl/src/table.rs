//! Human output: a header and aligned columns, long cells cut with `…` so a row fits a terminal.

/// The widest a cell may be before it is cut.
const MAX_CELL: usize = 60;

pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let cut = |s: &str| -> String {
            let s = s.replace(['\n', '\t'], " ");
            if s.chars().count() > MAX_CELL {
                let mut short: String = s.chars().take(MAX_CELL - 1).collect();
                short.push('…');
                short
            } else {
                s
            }
        };
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| cut(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    let pad = widths.get(i).copied().unwrap_or(0);
                    out.push_str(&format!("{cell:<pad$}  "));
                }
            }
            out.trim_end().to_owned()
        };
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        let mut out = line(&header);
        for row in &rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out
    }
}

/// A duration as people read it: `14m 05s`, `2h 03m`, `3d 04h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let text = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600)
    };
    if seconds < 0 {
        format!("overdue {text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut t = Table::new(&["PK", "MODE"]);
        t.row(vec!["default".into(), "notify".into()]);
        t.row(vec!["x".repeat(70), "enforce".into()]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0].find("MODE"), lines[1].find("notify"));
        assert!(lines[2].contains(&format!("{}…", "x".repeat(59))));
        assert!(!lines[2].contains(&"x".repeat(60)));
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(845), "14m 05s");
        assert_eq!(duration(7380), "2h 03m");
        assert_eq!(duration(273_600), "3d 04h");
        assert_eq!(duration(-61), "overdue 1m 01s");
    }
}
