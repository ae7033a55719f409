//! Finding and parsing route files.

use super::{yaml_error, Diagnostic, RouteSpec};
use std::path::{Path, PathBuf};

/// A parsed route file.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteFile {
    pub path: PathBuf,
    pub route: RouteSpec,
}

/// Reads every `*.yaml`/`*.yml` file under `dir` (recursively, in name
/// order) as a route. Test fixtures may sit beside routes: files under a
/// folder named `tests` or `fixtures` are not routes.
pub fn load_route_files(dir: &Path) -> (Vec<RouteFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if !dir.is_dir() {
        errors.push(Diagnostic::in_file(
            dir,
            "the routes folder does not exist; expected a folder of route files",
        ));
        return (files, errors);
    }
    let mut paths = Vec::new();
    collect_yaml(dir, &mut paths, &mut errors);
    paths.sort();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Err(e) => errors.push(Diagnostic::in_file(&path, format!("cannot read: {e}"))),
            Ok(text) => match serde_saphyr::from_str::<RouteSpec>(&text) {
                Ok(route) => files.push(RouteFile { path, route }),
                Err(e) => errors.push(yaml_error(&path, &e)),
            },
        }
    }
    (files, errors)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(Diagnostic::in_file(dir, format!("cannot list: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if name != "tests" && name != "fixtures" {
                collect_yaml(&path, out, errors);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}
