//! Mapping tables: the value domains a platform translates between (sex,
//! ID types, exam classes, hospitals ...), read from the mappings folder.
//!
//! Every `*.csv`, `*.yaml` and `*.yml` file under the folder is one table
//! (but `*.test.yaml`, a table's unit tests), named by its path without the
//! extension: `mappings/sex.csv` is `sex`,
//! `mappings/xiamen-120/hospitals.yaml` is `xiamen-120/hospitals`. The
//! first column is the key: its values must be unique. A lookup may go by
//! any column; where a column repeats a value, the first row wins.
//! See docs/mappings.md.

mod csv_file;
mod table;
mod yaml_file;

pub use table::{Row, Table};

use crate::config::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every table of a configuration snapshot, by name.
#[derive(Debug, Default)]
pub struct Mappings {
    tables: BTreeMap<String, Table>,
}

impl Mappings {
    /// Reads every table under `dir`, recursively. A missing folder means
    /// no tables. Each table with an error is left out and its errors
    /// returned, each at `file:line:column`.
    pub fn load(dir: &Path) -> (Mappings, Vec<Diagnostic>) {
        let mut mappings = Mappings::empty();
        let mut errors = Vec::new();
        if !dir.exists() {
            return (mappings, errors);
        }
        let mut files = Vec::new();
        collect(dir, &mut files, &mut errors);
        files.sort();
        let mut origins: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in files {
            let Some(name) = table_name(dir, &file) else {
                errors.push(Diagnostic::in_file(
                    &file,
                    "the file name is not UTF-8 text; expected a name such as `sex.csv`",
                ));
                continue;
            };
            if let Some(other) = origins.get(&name) {
                errors.push(Diagnostic::in_file(
                    &file,
                    format!(
                        "table `{name}` is also defined by {}; expected one file per table",
                        other.display()
                    ),
                ));
                continue;
            }
            origins.insert(name.clone(), file.clone());
            if let Some(table) = read_table(&name, &file, &mut errors) {
                mappings.tables.insert(name, table);
            }
        }
        (mappings, errors)
    }

    pub fn empty() -> Mappings {
        Mappings::default()
    }

    /// The table named `name`, e.g. `sex` or `xiamen-120/hospitals`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Table names in order, for listings and error messages.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// "no mapping table `x`; the tables are: a, b" — for build errors
    /// and script errors alike.
    pub fn unknown_table_message(&self, name: &str) -> String {
        if self.tables.is_empty() {
            format!("no mapping table `{name}`; the mappings folder holds no tables")
        } else {
            let names: Vec<&str> = self.names().collect();
            format!("no mapping table `{name}`; the tables are: {}", names.join(", "))
        }
    }
}

fn read_table(name: &str, file: &Path, errors: &mut Vec<Diagnostic>) -> Option<Table> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            errors.push(Diagnostic::in_file(file, format!("cannot read the table: {e}")));
            return None;
        }
    };
    if file.extension().is_some_and(|e| e == "csv") {
        return csv_file::read(name, file, &bytes, errors);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => yaml_file::read(name, file, text, errors),
        Err(_) => {
            errors.push(Diagnostic::in_file(
                file,
                "the file is not UTF-8 text (GBK?); save it as UTF-8",
            ));
            None
        }
    }
}

/// `dir/xiamen-120/hospitals.yaml` -> `xiamen-120/hospitals`.
fn table_name(dir: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(dir).ok()?.with_extension("");
    let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(Diagnostic::in_file(
                dir,
                format!("cannot list the mappings folder: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `sex.test.yaml` holds the unit tests of `sex.csv`, not a table.
        if name.starts_with('.') || name.ends_with(".test.yaml") || name.ends_with(".test.yml") {
            continue;
        }
        if path.is_dir() {
            collect(&path, out, errors);
        } else if name.ends_with(".csv") || name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn loads_every_table_under_the_folder_by_relative_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sex.csv", "code,name\n1,男\n2,女\n");
        write(
            dir.path(),
            "xiamen-120/hospitals.yaml",
            "- { code: H01, name: 厦门大学附属第一医院 }\n",
        );
        write(dir.path(), "README.md", "not a table");
        write(dir.path(), ".hidden.csv", "not,read\n");
        write(dir.path(), "sex.test.yaml", "cases: []\n");
        let (m, errors) = Mappings::load(dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(m.names().collect::<Vec<_>>(), ["sex", "xiamen-120/hospitals"]);
        let hospitals = m.table("xiamen-120/hospitals").unwrap();
        assert_eq!(hospitals.lookup("code", "H01", "name"), Some("厦门大学附属第一医院"));
        assert_eq!(hospitals.name(), "xiamen-120/hospitals");
        assert!(m.table("hospitals").is_none());
    }

    #[test]
    fn a_missing_folder_holds_no_tables() {
        let dir = tempfile::tempdir().unwrap();
        let (m, errors) = Mappings::load(&dir.path().join("absent"));
        assert!(m.is_empty() && errors.is_empty());
        assert_eq!(
            m.unknown_table_message("sex"),
            "no mapping table `sex`; the mappings folder holds no tables"
        );
    }

    #[test]
    fn bad_tables_are_left_out_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "good.csv", "code\n1\n");
        write(dir.path(), "bad.csv", "code,name\n1,a,b\n");
        write(dir.path(), "twice.csv", "code\n1\n");
        write(dir.path(), "twice.yaml", "- { code: 1 }\n");
        let (m, errors) = Mappings::load(dir.path());
        assert_eq!(m.names().collect::<Vec<_>>(), ["good", "twice"]);
        let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("bad.csv:2:1: the row has 3 cells"), "{errors:?}");
        assert!(
            errors[1].contains("twice.yaml:1:1: table `twice` is also defined by"),
            "{errors:?}"
        );
        assert_eq!(
            m.unknown_table_message("x"),
            "no mapping table `x`; the tables are: good, twice"
        );
    }

    #[test]
    fn the_shipped_sex_table_maps_gb_codes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
        let (m, errors) = Mappings::load(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        let sex = m.table("sex").unwrap();
        assert_eq!(sex.columns()[0], "code");
        assert_eq!(sex.lookup("code", "1", "name"), Some("男"));
        assert_eq!(sex.lookup("code", "2", "hl7"), Some("F"));
        assert_eq!(sex.lookup("hl7", "U", "code"), Some("0"));
    }
}
