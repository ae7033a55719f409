//! What a configuration snapshot shares between its routes: the settings,
//! the mapping tables and the script engine. Built once per load.

use crate::mappings::Mappings;
use crate::scripting::Scripting;
use crate::settings::Settings;
use std::sync::Arc;

pub struct Resources {
    pub settings: Arc<Settings>,
    pub mappings: Arc<Mappings>,
    pub scripting: Arc<Scripting>,
}
