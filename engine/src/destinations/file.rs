//! The `file` destination: write the payload to a file, atomically (a
//! temporary file in the same folder, flushed to disk, then renamed).

use super::{Attempt, Failure, Outgoing};
use crate::settings::Settings;
use crate::steps::BuildContext;
use crate::templates::Template;
use schemars::JsonSchema;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDestinationConfig {
    /// Folder to write into, relative to the data dir unless absolute;
    /// created when missing.
    pub dir: PathBuf,
    /// File name template, e.g. `{{ vars.patientId }}-{{ msg.id }}.xml`. It
    /// may not contain `/`, `\` or `..`.
    #[serde(default = "default_name")]
    pub name: String,
}

fn default_name() -> String {
    "{{ msg.id }}".into()
}

pub struct FileEndpoint {
    dir: PathBuf,
    name: Template,
}

impl FileEndpoint {
    pub fn build(config: &FileDestinationConfig, cx: &mut BuildContext) -> Option<Self> {
        let name = Template::compile(&config.name)
            .map_err(|e| cx.error(format!("name: bad template: {e}")))
            .ok()?;
        Some(FileEndpoint {
            dir: config.dir.clone(),
            name,
        })
    }

    pub fn uses(&self, name: &str) -> bool {
        self.name.uses(name)
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>, settings: &Settings) -> Attempt {
        let name = match self.name.render(outgoing.context) {
            Ok(name) => name,
            Err(e) => return failed(format!("name: {e}"), Failure::Invalid),
        };
        if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") {
            return failed(
                format!("file name `{name}` must be a plain name without `/`, `\\` or `..`"),
                Failure::Invalid,
            );
        }
        let dir = if self.dir.is_absolute() {
            self.dir.clone()
        } else {
            settings.data_dir.join(&self.dir)
        };
        let payload = outgoing.payload.as_bytes().to_vec();
        let target = dir.join(&name);
        let written = tokio::task::spawn_blocking(move || write_atomically(&dir, &target, &payload)).await;
        match written {
            Ok(Ok(path)) => Attempt::Delivered {
                response: Some(serde_json::json!({ "file": path.display().to_string() })),
            },
            Ok(Err(e)) => failed(format!("cannot write: {e}"), Failure::Io),
            Err(e) => failed(format!("writer task failed: {e}"), Failure::Io),
        }
    }
}

fn failed(error: String, failure: Failure) -> Attempt {
    Attempt::Failed {
        error,
        failure,
        response: None,
    }
}

fn write_atomically(dir: &Path, target: &Path, payload: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".medbus-{}.tmp", uuid::Uuid::new_v4()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(payload)?;
        file.sync_all()?;
        std::fs::rename(&temporary, target)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map(|_| target.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out").join("a.xml");
        write_atomically(&dir.path().join("out"), &target, "<a>张三</a>".as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "<a>张三</a>");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file stays behind");
    }
}
