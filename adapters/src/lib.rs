pub mod hl7;
pub mod mllp;
pub mod soap;
pub mod xml;
