//! Scenario files: a whole lab as data (TOML), like Mininet's `Topo` or containerlab's
//! topology file. Reading a file checks everything first (unknown keys, references to
//! unknown containers or networks, bad specs) and reports the line and column; bringing
//! it up then builds the lab step by step (see [`up`]): its networks, its containers, its
//! pipework interfaces, its faults.

mod file;
mod network;
mod up;

pub use file::{Ready, Scenario, ScenarioContainer, Service, load, parse};
pub use up::{Progress, mongo_server, up};
