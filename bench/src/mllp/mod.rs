//! MLLP framing and the few HL7 v2 fields the MLLP benchmark reads, found by
//! a byte scan: the baseline must not depend on the code under test.

pub mod frame;
pub mod hl7;
