//! What a configuration snapshot shares between its routes: the settings,
//! the mapping tables, the script engine and the application databases.
//! Built once per load; the databases stay open across loads.

use crate::databases::Databases;
use crate::mappings::Mappings;
use crate::scripting::Scripting;
use crate::settings::Settings;
use std::sync::Arc;

pub struct Resources {
    pub settings: Arc<Settings>,
    pub mappings: Arc<Mappings>,
    pub scripting: Arc<Scripting>,
    /// The open application databases, shared by every snapshot.
    pub databases: Arc<Databases>,
}
