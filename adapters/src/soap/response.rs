//! The server side's answers: a document/literal wrapped response, or a fault.

use super::text::{envelope, escape};
use super::{FaultCode, SoapVersion};

/// The response to `operation`: `<ns:{operation}Response xmlns:ns="{service_ns}"><return>…</return>…`,
/// with `return` unqualified as the WSDL declares it. Use [`content_type`](super::content_type)
/// for its `Content-Type`.
///
/// `operation` must be an XML NCName (as the WSDL requires anyway). Characters XML cannot hold
/// become U+FFFD.
pub fn response_envelope(version: SoapVersion, service_ns: &str, operation: &str, return_text: &str) -> String {
    envelope(
        version,
        &format!(
            r#"<ns:{operation}Response xmlns:ns="{}"><return>{}</return></ns:{operation}Response>"#,
            escape(service_ns, true),
            escape(return_text, false)
        ),
    )
}

/// A fault: 1.1 `faultcode`/`faultstring`, 1.2 `Code/Value` and `Reason/Text`. Sent with HTTP 500
/// (1.1; 1.2 uses 400 for `Sender`).
pub fn fault_envelope(version: SoapVersion, code: FaultCode, faultstring: &str) -> String {
    let code = code.local_name(version);
    let reason = escape(faultstring, false);
    let fault = match version {
        SoapVersion::V11 => {
            format!("<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{reason}</faultstring></soap:Fault>")
        }
        SoapVersion::V12 => format!(
            "<soap:Fault><soap:Code><soap:Value>soap:{code}</soap:Value></soap:Code>\
             <soap:Reason><soap:Text xml:lang=\"en\">{reason}</soap:Text></soap:Reason></soap:Fault>"
        ),
    };
    envelope(version, &fault)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::{content_type, parse_response};

    const NS: &str = "http://service.example.cn/";

    #[test]
    fn response_is_wrapped_with_an_unqualified_return() {
        let xml = response_envelope(SoapVersion::V11, NS, "query", "<r>张三 & 李四</r>");
        assert_eq!(
            xml,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{}\"><soap:Body>\
                 <ns:queryResponse xmlns:ns=\"{NS}\"><return>&lt;r&gt;张三 &amp; 李四&lt;/r&gt;</return>\
                 </ns:queryResponse></soap:Body></soap:Envelope>",
                crate::soap::SOAP11_ENVELOPE_NS
            )
        );
        for version in [SoapVersion::V11, SoapVersion::V12] {
            let xml = response_envelope(version, NS, "query", "<r>\r\n</r>");
            let response = parse_response(xml.as_bytes(), content_type(version)).unwrap();
            assert_eq!(response.return_text.as_deref(), Some("<r>\r\n</r>"));
            assert_eq!(response.fault, None);
        }
    }

    #[test]
    fn faults_per_version() {
        let xml = fault_envelope(SoapVersion::V11, FaultCode::Server, "数据库 <down>");
        assert!(xml.contains("<faultcode>soap:Server</faultcode><faultstring>数据库 &lt;down&gt;</faultstring>"));
        let fault = parse_response(xml.as_bytes(), content_type(SoapVersion::V11))
            .unwrap()
            .fault
            .unwrap();
        assert_eq!(
            (fault.code.as_str(), fault.string.as_str()),
            ("Server", "数据库 <down>")
        );

        let xml = fault_envelope(SoapVersion::V12, FaultCode::Client, "bad");
        assert!(xml.contains("<soap:Value>soap:Sender</soap:Value>"));
        let fault = parse_response(xml.as_bytes(), content_type(SoapVersion::V12))
            .unwrap()
            .fault
            .unwrap();
        assert_eq!((fault.code.as_str(), fault.string.as_str()), ("Sender", "bad"));

        let xml = fault_envelope(SoapVersion::V12, FaultCode::VersionMismatch, "v");
        assert!(xml.contains("<soap:Value>soap:VersionMismatch</soap:Value>"));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(SoapVersion::V11), "text/xml; charset=utf-8");
        assert_eq!(content_type(SoapVersion::V12), "application/soap+xml; charset=utf-8");
    }
}
