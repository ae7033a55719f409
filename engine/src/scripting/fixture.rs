//! For tests of the steps that use scripts, tables and templates: a
//! temporary configuration folder with real files, its resources, and a
//! way to build a step from its YAML config.

use crate::config::{Diagnostics, Position};
use crate::exchange::Exchange;
use crate::mappings::Mappings;
use crate::resources::Resources;
use crate::scripting::Scripting;
use crate::settings::Settings;
use crate::steps::BuildContext;
use crate::value::Value;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Fixture {
    /// Kept for its lifetime: the folder is deleted when the fixture is.
    _dir: Option<tempfile::TempDir>,
    pub base: PathBuf,
    pub resources: Resources,
}

impl Fixture {
    /// Writes `files` (paths relative to the folder, e.g.
    /// `mappings/sex.csv`, `scripts/a.rhai`, `templates/a.xml`) and loads
    /// the resources from them.
    pub fn with_files(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let mut fixture = Fixture::at(dir.path());
        fixture._dir = Some(dir);
        fixture
    }

    /// The repository's own scripts, templates and mapping tables.
    pub fn repo() -> Fixture {
        Fixture::at(&repo_file(""))
    }

    fn at(base: &std::path::Path) -> Fixture {
        let settings = Settings::for_dir(base);
        let (mappings, errors) = Mappings::load(&settings.mappings_dir);
        assert!(errors.is_empty(), "{errors:?}");
        let mappings = Arc::new(mappings);
        let scripting = Arc::new(Scripting::new(settings.timezone, mappings.clone()));
        Fixture {
            _dir: None,
            base: settings.file.parent().unwrap().to_path_buf(),
            resources: Resources {
                settings: Arc::new(settings),
                mappings,
                scripting,
                databases: Default::default(),
            },
        }
    }

    pub fn route_file(&self) -> PathBuf {
        self.base.join("routes/test.yaml")
    }

    /// Parses a step's config from `yaml` and builds it, as if the config
    /// were written at line 10, column 5 of `routes/test.yaml`. Errors come
    /// back as `file:line:column: message` with the folder's path cut off.
    pub fn build<C: DeserializeOwned, S>(
        &self,
        yaml: &str,
        build: impl FnOnce(&C, &mut BuildContext) -> Option<S>,
    ) -> Result<S, Vec<String>> {
        let config: C = serde_saphyr::from_str(yaml).map_err(|e| vec![e.to_string()])?;
        self.build_config(&config, build)
    }

    /// As `build`, for a config already parsed.
    pub fn build_config<C, S>(
        &self,
        config: &C,
        build: impl FnOnce(&C, &mut BuildContext) -> Option<S>,
    ) -> Result<S, Vec<String>> {
        let mut diagnostics = Diagnostics::default();
        let file = self.route_file();
        let mut cx = BuildContext {
            file: &file,
            at: Position { line: 10, column: 5 },
            resources: &self.resources,
            diagnostics: &mut diagnostics,
        };
        let step = build(config, &mut cx);
        let base = format!("{}/", self.base.display());
        let errors: Vec<String> = diagnostics
            .sorted()
            .iter()
            .map(|d| d.to_string().replace(&base, ""))
            .collect();
        match step {
            Some(step) if errors.is_empty() => Ok(step),
            Some(_) => panic!("the step was built despite errors: {errors:?}"),
            None => {
                assert!(!errors.is_empty(), "the step was not built, and no error says why");
                Err(errors)
            }
        }
    }
}

pub fn exchange(body: Value) -> Exchange {
    let mut ex = Exchange::new(
        "test.route",
        bytes::Bytes::new(),
        Some("application/json".into()),
        Default::default(),
    );
    ex.body = body.into();
    ex
}

/// The code blocks of a Markdown text in `language` (```rhai ... ```),
/// for tests that run the examples of the docs.
pub fn code_blocks(markdown: &str, language: &str) -> Vec<String> {
    let fence = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == fence => current = Some(String::new()),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// A file of the repository, e.g. `docs/scripting.md`.
pub fn repo_file(path: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}
