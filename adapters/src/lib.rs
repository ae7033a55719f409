pub mod soap;
pub mod xml;
