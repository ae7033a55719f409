pub mod hl7;
pub mod soap;
pub mod xml;
