//! Human output: a header and aligned columns, long cells cut with `…` so a row fits a terminal.
//! Tables are coloured (a bold header, states in the colour of what they mean) only when `main`
//! says so: by anstream's rule, stdout is a terminal and `NO_COLOR` is not set. Nothing is ever
//! stripped from the output, so what a pipe gets is exactly what was written (JSON included).

use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

static COLOUR: AtomicBool = AtomicBool::new(false);

/// Colour on or off for what follows (off until `main` decides).
pub fn set_colour(on: bool) {
    COLOUR.store(on, Ordering::Relaxed);
}

fn styled(style: Style, text: &str) -> String {
    if COLOUR.load(Ordering::Relaxed) && style != Style::new() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// The widest a cell may be before it is cut.
const MAX_CELL: usize = 60;

/// What a word in a state column means to the reader, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Nothing to do: allowed, approved, a passing check, a new item.
    Good,
    /// Look at it soon: waiting for approval, a warning, a changed item.
    Warn,
    /// Something was wrong: a violation, a failure, an overdue deadline, a removed item.
    Bad,
}

impl Tone {
    /// The tone of a cell, by its first word (the states guardctl prints, in any case).
    pub fn of(text: &str) -> Tone {
        let first = text.split_whitespace().next().unwrap_or("");
        match first.to_ascii_lowercase().as_str() {
            "ok" | "allowed" | "approved" | "new" | "audited" => Tone::Good,
            "warn" | "pending" | "evaluated" | "notified" | "unattributed" | "changed" => {
                Tone::Warn
            }
            "fail" | "failed" | "violation" | "enforced" | "overdue" | "removed" => Tone::Bad,
            _ => Tone::Plain,
        }
    }

    fn style(self) -> Style {
        let colour = match self {
            Tone::Plain => return Style::new(),
            Tone::Good => AnsiColor::Green,
            Tone::Warn => AnsiColor::Yellow,
            Tone::Bad => AnsiColor::Red,
        };
        Style::new().fg_color(Some(colour.into()))
    }
}

/// `text` in its tone's colour (as is when plain).
pub fn paint(tone: Tone, text: &str) -> String {
    styled(tone.style(), text)
}

/// `text` in bold.
pub fn bold(text: &str) -> String {
    styled(Style::new().bold(), text)
}

pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Columns whose cells are coloured by [`Tone::of`].
    toned: Vec<usize>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
            toned: Vec::new(),
        }
    }

    /// Colours the cells of the column headed `column` by what they say.
    pub fn toned(mut self, column: &str) -> Table {
        if let Some(i) = self.header.iter().position(|h| *h == column) {
            self.toned.push(i);
        }
        self
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
        // Padding is worked out on the text as seen, then the colour wraps the text alone.
        let line = |cells: &[String], paint_cell: &dyn Fn(usize, &str) -> String| -> String {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                out.push_str(&paint_cell(i, cell));
                if i + 1 < cells.len() {
                    let pad = widths.get(i).copied().unwrap_or(0);
                    let fill = pad.saturating_sub(cell.chars().count()) + 2;
                    out.push_str(&" ".repeat(fill));
                }
            }
            out.trim_end().to_owned()
        };
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        let mut out = line(&header, &|_, cell| bold(cell));
        let body = |i: usize, cell: &str| {
            if self.toned.contains(&i) {
                paint(Tone::of(cell), cell)
            } else {
                cell.to_owned()
            }
        };
        for row in &rows {
            out.push('\n');
            out.push_str(&line(row, &body));
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

    /// The table as a reader of a pipe gets it: anstream takes the colour out.
    fn plain(text: &str) -> String {
        anstream::adapter::strip_str(text).to_string()
    }

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut t = Table::new(&["PK", "MODE"]).toned("MODE");
        t.row(vec!["default".into(), "notify".into()]);
        t.row(vec!["x".repeat(70), "enforce".into()]);
        let out = plain(&t.render());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0].find("MODE"), lines[1].find("notify"));
        assert!(lines[2].contains(&format!("{}…", "x".repeat(59))));
        assert!(!lines[2].contains(&"x".repeat(60)));
    }

    #[test]
    fn states_are_coloured_by_meaning_and_the_colour_does_not_shift_columns() {
        set_colour(true);
        let mut t = Table::new(&["STATE", "RESOURCE"]).toned("STATE");
        t.row(vec!["violation".into(), "bad-endpoint".into()]);
        t.row(vec!["allowed".into(), "good-endpoint".into()]);
        t.row(vec!["pending".into(), "waiting".into()]);
        t.row(vec!["gone".into(), "other".into()]);
        let out = t.render();
        let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
        let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
        let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
        assert!(out.contains(&format!("{red}violation{red:#}")), "{out:?}");
        assert!(out.contains(&format!("{green}allowed{green:#}")), "{out:?}");
        assert!(
            out.contains(&format!("{yellow}pending{yellow:#}")),
            "{out:?}"
        );
        assert!(
            out.contains("\ngone "),
            "a word of no tone stays plain: {out:?}"
        );
        let header = Style::new().bold();
        assert!(
            out.starts_with(&format!("{header}STATE{header:#}")),
            "{out:?}"
        );
        // Only the toned column: a resource named like a state is not coloured.
        let mut names = Table::new(&["STATE", "RESOURCE"]).toned("STATE");
        names.row(vec!["allowed".into(), "failed".into()]);
        assert!(names.render().ends_with("  failed"));
        // Stripped, the columns line up as if there had never been colour.
        let text = plain(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "STATE      RESOURCE");
        assert_eq!(lines[1], "violation  bad-endpoint");
        assert_eq!(lines[2].find("good"), lines[1].find("bad"));
    }

    #[test]
    fn a_tone_is_read_from_the_first_word_in_any_case() {
        set_colour(true);
        assert_eq!(Tone::of("FAIL"), Tone::Bad);
        assert_eq!(Tone::of("WARN"), Tone::Warn);
        assert_eq!(Tone::of("ok"), Tone::Good);
        assert_eq!(Tone::of("overdue 1m 01s"), Tone::Bad);
        assert_eq!(Tone::of("14m 05s"), Tone::Plain);
        assert_eq!(Tone::of(""), Tone::Plain);
        assert_eq!(paint(Tone::Plain, "x"), "x");
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
