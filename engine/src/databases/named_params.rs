//! Named parameters: a query written with `:eventNo` is rewritten to the
//! backend's own placeholders (`$1` for PostgreSQL, `?1` for SQLite, `?`
//! for MySQL) once, when the route is built. Text in quotes, quoted
//! identifiers, comments, `::` casts and `:=` are left alone.

use super::settings::Backend;

/// A query split into its text and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedQuery {
    pieces: Vec<Piece>,
    /// Each name once, in the order of first use.
    names: Vec<String>,
    read_only: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    /// An index into `names`.
    Param(usize),
}

/// A query in one backend's terms: its text, and for each placeholder in
/// bind order the index of the name it stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct Rewritten {
    pub sql: String,
    pub binds: Vec<usize>,
}

impl NamedQuery {
    /// Parses `sql` by the lexical rules of `dialect` (MySQL's backslash
    /// escapes and `#` comments, PostgreSQL's dollar quotes and nested
    /// comments). The error says what is wrong and where in the query.
    pub fn parse(sql: &str, dialect: Backend) -> Result<NamedQuery, String> {
        let mut parser = Parser {
            sql,
            bytes: sql.as_bytes(),
            at: 0,
            text_from: 0,
            dialect,
            query: NamedQuery {
                pieces: Vec::new(),
                names: Vec::new(),
                read_only: starts_with_select(sql),
            },
        };
        parser.run()?;
        Ok(parser.query)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the query surely only reads (it starts with `SELECT`):
    /// SQLite runs such queries beside the writing connection.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn rewrite(&self, backend: Backend) -> Rewritten {
        let mut sql = String::new();
        let mut binds = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => sql.push_str(text),
                Piece::Param(index) => match backend {
                    Backend::Postgres => sql.push_str(&format!("${}", index + 1)),
                    Backend::Sqlite => sql.push_str(&format!("?{}", index + 1)),
                    Backend::MySql => {
                        sql.push('?');
                        binds.push(*index);
                    }
                },
            }
        }
        if backend != Backend::MySql {
            binds = (0..self.names.len()).collect();
        }
        Rewritten { sql, binds }
    }
}

fn starts_with_select(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after).trim_start();
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after).trim_start();
        } else {
            break;
        }
    }
    rest.get(..6).is_some_and(|word| word.eq_ignore_ascii_case("select"))
        && !rest[6..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

struct Parser<'a> {
    sql: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Where the text not yet added to the pieces starts.
    text_from: usize,
    dialect: Backend,
    query: NamedQuery,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Parser<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at + offset).copied()
    }

    /// "line 2, column 5 of the query", for the byte at `at`.
    fn where_(&self, at: usize) -> String {
        let before = &self.sql[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("line {line}, column {column} of the query")
    }

    fn run(&mut self) -> Result<(), String> {
        let mysql = self.dialect == Backend::MySql;
        let postgres = self.dialect == Backend::Postgres;
        while let Some(b) = self.peek(0) {
            let previous = self.at.checked_sub(1).map(|i| self.bytes[i]);
            match b {
                b'\'' => {
                    let escapes = mysql
                        || (postgres
                            && matches!(previous, Some(b'e' | b'E'))
                            && !self.at.checked_sub(2).is_some_and(|i| is_name_char(self.bytes[i])));
                    self.skip_quoted(b'\'', escapes, "a string")?;
                }
                b'"' => self.skip_quoted(b'"', mysql, "a quoted name")?,
                b'`' => self.skip_quoted(b'`', false, "a quoted name")?,
                b'-' if self.peek(1) == Some(b'-')
                    && (!mysql || self.peek(2).is_none_or(|c| c.is_ascii_whitespace())) =>
                {
                    self.skip_line()
                }
                b'#' if mysql => self.skip_line(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment()?,
                b'$' if postgres && !previous.is_some_and(is_name_char) => self.dollar()?,
                b'$' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) && !previous.is_some_and(is_name_char) => {
                    return Err(self.positional("$"));
                }
                b'?' if !postgres => return Err(self.positional("?")),
                b':' => self.colon(),
                _ => self.at += 1,
            }
        }
        self.flush_text(self.at);
        Ok(())
    }

    fn positional(&self, mark: &str) -> String {
        format!(
            "the query has a `{mark}` placeholder at {}; write parameters by name, e.g. `:eventNo`",
            self.where_(self.at)
        )
    }

    fn flush_text(&mut self, until: usize) {
        if until > self.text_from {
            self.query
                .pieces
                .push(Piece::Text(self.sql[self.text_from..until].to_string()));
        }
        self.text_from = until;
    }

    fn colon(&mut self) {
        match self.peek(1) {
            Some(b':') => self.at += 2,
            Some(b'=') => self.at += 2,
            Some(c) if is_name_start(c) => {
                let start = self.at;
                self.at += 1;
                while self.peek(0).is_some_and(is_name_char) {
                    self.at += 1;
                }
                self.flush_text(start);
                let name = &self.sql[start + 1..self.at];
                let index = match self.query.names.iter().position(|n| n == name) {
                    Some(index) => index,
                    None => {
                        self.query.names.push(name.to_string());
                        self.query.names.len() - 1
                    }
                };
                self.query.pieces.push(Piece::Param(index));
                self.text_from = self.at;
            }
            _ => self.at += 1,
        }
    }

    fn skip_quoted(&mut self, quote: u8, backslash_escapes: bool, what: &str) -> Result<(), String> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek(0) {
                None => return Err(format!("the query has {what} not closed, from {}", self.where_(start))),
                Some(b'\\') if backslash_escapes => self.at += 2,
                Some(b) if b == quote => {
                    self.at += 1;
                    if self.peek(0) != Some(quote) {
                        return Ok(());
                    }
                    self.at += 1;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|b| b != b'\n') {
            self.at += 1;
        }
    }

    /// PostgreSQL nests block comments; SQLite and MySQL end them at the first `*/`.
    fn skip_block_comment(&mut self) -> Result<(), String> {
        let start = self.at;
        let nests = self.dialect == Backend::Postgres;
        let mut depth = 0;
        while self.at < self.bytes.len() {
            if self.peek(0) == Some(b'/') && self.peek(1) == Some(b'*') && (depth == 0 || nests) {
                depth += 1;
                self.at += 2;
            } else if self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.at += 2;
                if depth == 0 {
                    return Ok(());
                }
            } else {
                self.at += 1;
            }
        }
        Err(format!(
            "the query has a comment not closed, from {}",
            self.where_(start)
        ))
    }

    /// `$tag$ ... $tag$` (a dollar-quoted string), else `$1` (refused) or a
    /// lone `$`.
    fn dollar(&mut self) -> Result<(), String> {
        let start = self.at;
        if self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            return Err(self.positional("$"));
        }
        let mut end = self.at + 1;
        while self.bytes.get(end).is_some_and(|b| is_name_char(*b)) {
            end += 1;
        }
        if self.bytes.get(end) != Some(&b'$') {
            self.at += 1;
            return Ok(());
        }
        let tag = &self.sql[start..=end];
        match self.sql[end + 1..].find(tag) {
            Some(close) => {
                self.at = end + 1 + close + tag.len();
                Ok(())
            }
            None => Err(format!(
                "the query has a `{tag}` string not closed, from {}",
                self.where_(start)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str, backend: Backend) -> (String, Vec<usize>, Vec<String>) {
        let query = NamedQuery::parse(sql, backend).unwrap();
        let rewritten = query.rewrite(backend);
        (rewritten.sql, rewritten.binds, query.names().to_vec())
    }

    #[test]
    fn names_become_each_backends_placeholders() {
        let sql = "SELECT * FROM t WHERE a = :eventNo AND b = :b_2 OR a2 = :eventNo";
        let (pg, binds, names) = rewrite(sql, Backend::Postgres);
        assert_eq!(pg, "SELECT * FROM t WHERE a = $1 AND b = $2 OR a2 = $1");
        assert_eq!(
            (binds, names),
            (vec![0, 1], vec!["eventNo".to_string(), "b_2".to_string()])
        );
        let (lite, binds, _) = rewrite(sql, Backend::Sqlite);
        assert_eq!(lite, "SELECT * FROM t WHERE a = ?1 AND b = ?2 OR a2 = ?1");
        assert_eq!(binds, vec![0, 1]);
        let (my, binds, _) = rewrite(sql, Backend::MySql);
        assert_eq!(my, "SELECT * FROM t WHERE a = ? AND b = ? OR a2 = ?");
        assert_eq!(binds, vec![0, 1, 0], "MySQL binds once per placeholder");
    }

    #[test]
    fn casts_strings_identifiers_and_comments_are_left_alone() {
        let sql = "SELECT ':no', \"col:x\", `a:b`, x::int, :d::date -- :c\n/* :e /* :f */ :g */ FROM t WHERE y = :y";
        let (pg, _, names) = rewrite(sql, Backend::Postgres);
        assert_eq!(
            pg,
            "SELECT ':no', \"col:x\", `a:b`, x::int, $1::date -- :c\n/* :e /* :f */ :g */ FROM t WHERE y = $2"
        );
        assert_eq!(names, ["d", "y"], "PostgreSQL comments nest");
        let (_, _, names) = rewrite("SELECT '' || 'it''s :x' FROM t WHERE a = :a", Backend::Sqlite);
        assert_eq!(names, ["a"], "a doubled quote stays inside the string");
        let (_, _, names) = rewrite("SELECT E'\\' :x' , :a", Backend::Postgres);
        assert_eq!(names, ["a"], "E'' strings escape with a backslash");
        let (_, _, names) = rewrite("SELECT 'C:\\', :a", Backend::Postgres);
        assert_eq!(names, ["a"], "standard strings do not");
        let (_, _, names) = rewrite("SELECT 'it\\'s :x', :a # :c\n", Backend::MySql);
        assert_eq!(names, ["a"], "MySQL escapes and # comments");
        let (_, _, names) = rewrite("SELECT $$ :x $$, $tag$ :y $tag$, :a", Backend::Postgres);
        assert_eq!(names, ["a"], "dollar quotes");
        let (my, _, names) = rewrite("SET @n := :n", Backend::MySql);
        assert_eq!((my.as_str(), names), ("SET @n := ?", vec!["n".to_string()]));
        let (_, _, names) = rewrite("SELECT a FROM t WHERE b = 'x: y' AND c = :c: ", Backend::Sqlite);
        assert_eq!(names, ["c"]);
    }

    #[test]
    fn unclosed_text_and_positional_placeholders_are_errors() {
        let err = NamedQuery::parse("SELECT 'abc\nFROM t", Backend::Sqlite).unwrap_err();
        assert_eq!(
            err,
            "the query has a string not closed, from line 1, column 8 of the query"
        );
        let err = NamedQuery::parse("SELECT a\nFROM t WHERE b = ?", Backend::MySql).unwrap_err();
        assert!(err.contains("`?` placeholder at line 2, column 18"), "{err}");
        let err = NamedQuery::parse("SELECT $1", Backend::Postgres).unwrap_err();
        assert!(err.contains("`$` placeholder"), "{err}");
        assert!(
            NamedQuery::parse("SELECT data ? 'key' FROM t", Backend::Postgres).is_ok(),
            "a jsonb operator"
        );
        assert!(NamedQuery::parse("/* open", Backend::Sqlite)
            .unwrap_err()
            .contains("comment not closed"));
        assert!(NamedQuery::parse("SELECT $x$ open", Backend::Postgres)
            .unwrap_err()
            .contains("`$x$` string not closed"));
    }

    #[test]
    fn knows_a_query_that_only_reads() {
        let read = |sql| NamedQuery::parse(sql, Backend::Sqlite).unwrap().is_read_only();
        assert!(read("  -- find it\n select * from t"));
        assert!(read("/* x */SELECT 1"));
        assert!(!read("SELECTED"));
        assert!(!read("INSERT INTO t SELECT 1"));
        assert!(!read("WITH x AS (SELECT 1) DELETE FROM t"));
    }

    #[test]
    fn text_outside_ascii_is_kept() {
        let (sql, _, names) = rewrite("SELECT '张三', :患者 FROM t WHERE 名 = :name", Backend::Postgres);
        assert_eq!(sql, "SELECT '张三', :患者 FROM t WHERE 名 = $1");
        assert_eq!(names, ["name"]);
    }
}
