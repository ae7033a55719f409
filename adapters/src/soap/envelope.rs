//! An incoming SOAP request (document/literal wrapped) -> operation and string parameters.

use super::media::unquote;
use super::read::read_envelope;
use super::{SoapError, SoapVersion};

/// A SOAP request as a service sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapRequest {
    pub version: SoapVersion,
    /// The local name of the Body's first element.
    pub operation: String,
    /// The namespace of the operation element, if it has one.
    pub operation_ns: Option<String>,
    /// The operation element's children, by local name, with their text (references decoded,
    /// CDATA as its text). A repeated parameter gives one entry per occurrence.
    pub params: Vec<(String, String)>,
    /// The action: the `SOAPAction` header (1.1), or the content type's `action` (1.2, falling
    /// back to the header); `None` when absent or empty.
    pub action: Option<String>,
    /// The envelope has a Header with at least one entry.
    pub headers_present: bool,
}

/// Reads a SOAP request from its HTTP body, `Content-Type` and `SOAPAction` header.
///
/// The version comes from the content type (`text/xml`: 1.1, `application/soap+xml`: 1.2) and
/// must agree with the envelope's namespace; an empty or `application/xml` content type lets
/// the envelope decide. Parameters are accepted qualified or unqualified. A DOCTYPE is refused
/// and nesting is capped, as in [`crate::xml::parse`].
pub fn parse_request(body: &[u8], content_type: &str, soap_action: Option<&str>) -> Result<SoapRequest, SoapError> {
    let envelope = read_envelope(body, content_type)?;
    let header_action = soap_action.map(|value| unquote(value.trim())).filter(|a| !a.is_empty());
    let action = match envelope.version {
        SoapVersion::V11 => header_action,
        SoapVersion::V12 => envelope.action.or(header_action),
    };
    let operation = envelope.entry;
    let mut params = Vec::new();
    for param in operation.children() {
        let text = param
            .text()
            .ok_or_else(|| SoapError::ParamNotText(param.local.clone()))?;
        params.push((param.local, text));
    }
    Ok(SoapRequest {
        version: envelope.version,
        operation: operation.local,
        operation_ns: operation.ns,
        params,
        action,
        headers_present: envelope.headers_present,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::request_envelope;

    const NS: &str = "http://service.emergency.example.cn/";

    fn soap11(body: &str) -> String {
        format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ser=\"{NS}\">\
             {body}</soapenv:Envelope>"
        )
    }

    #[test]
    fn round_trips_both_versions() {
        for version in [SoapVersion::V11, SoapVersion::V12] {
            let params = [("applyData", "<root><姓名>张三</姓名></root>"), ("token", "a&b")];
            let (content_type, action, body) =
                request_envelope(version, NS, "pushApplyRecord", &params, Some("urn:push"));
            let request = parse_request(body.as_bytes(), &content_type, action.as_deref()).unwrap();
            assert_eq!(request.version, version);
            assert_eq!(request.operation, "pushApplyRecord");
            assert_eq!(request.operation_ns.as_deref(), Some(NS));
            let expected: Vec<_> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            assert_eq!(request.params, expected);
            assert_eq!(request.action.as_deref(), Some("urn:push"));
            assert!(!request.headers_present);
        }
    }

    #[test]
    fn real_world_request_with_escaped_xml_and_cdata() {
        let xml = format!(
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
            soap11(
                "\n  <soapenv:Header/>\n  <soapenv:Body>\n    <ser:pushApplyRecord>\n      \
                 <applyData>&lt;root&gt;&lt;name&gt;a &amp;amp; b&lt;/name&gt;&lt;/root&gt;</applyData>\n      \
                 <memo><![CDATA[<root><姓名>张三</姓名></root>]]></memo>\n    </ser:pushApplyRecord>\n  \
                 </soapenv:Body>\n"
            )
        );
        let request = parse_request(xml.as_bytes(), "text/xml;charset=UTF-8", Some("\"\"")).unwrap();
        assert_eq!(request.operation, "pushApplyRecord");
        assert_eq!(
            request.params,
            vec![
                (
                    "applyData".to_string(),
                    "<root><name>a &amp; b</name></root>".to_string()
                ),
                ("memo".to_string(), "<root><姓名>张三</姓名></root>".to_string()),
            ]
        );
        assert_eq!(request.action, None);
        assert!(!request.headers_present);
    }

    #[test]
    fn a_request_as_zeep_sends_it() {
        let xml = "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap-env:Body>\
                   <ns0:pushApplyRecord xmlns:ns0=\"http://service.emergency.example.cn/\">\
                   <applyData>&lt;root&gt;张三&lt;/root&gt;</applyData><token>t</token></ns0:pushApplyRecord>\
                   </soap-env:Body></soap-env:Envelope>";
        let request = parse_request(xml.as_bytes(), "text/xml; charset=utf-8", Some("\"\"")).unwrap();
        assert_eq!(request.operation_ns.as_deref(), Some(NS));
        assert_eq!(
            request.params,
            vec![
                ("applyData".into(), "<root>张三</root>".into()),
                ("token".into(), "t".into())
            ]
        );
    }

    #[test]
    fn qualified_params_and_headers() {
        let xml = soap11(
            "<soapenv:Header><ser:token>t</ser:token></soapenv:Header>\
             <soapenv:Body><ser:query><ser:id>42</ser:id><kind xmlns=\"\">x</kind></ser:query></soapenv:Body>",
        );
        let request = parse_request(xml.as_bytes(), "text/xml", Some("urn:query")).unwrap();
        assert_eq!(
            request.params,
            vec![("id".into(), "42".into()), ("kind".into(), "x".into())]
        );
        assert!(request.headers_present);
        assert_eq!(request.action.as_deref(), Some("urn:query"));
    }

    #[test]
    fn soap12_action_from_content_type() {
        let xml = format!(
            "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\">\
             <env:Body><q xmlns=\"{NS}\"/></env:Body></env:Envelope>"
        );
        let request = parse_request(xml.as_bytes(), r#"application/soap+xml; action="urn:q""#, None).unwrap();
        assert_eq!(request.version, SoapVersion::V12);
        assert_eq!(request.operation_ns.as_deref(), Some(NS));
        assert_eq!(request.action.as_deref(), Some("urn:q"));
        assert!(request.params.is_empty());
    }

    #[test]
    fn gbk_body_by_content_type_or_declaration() {
        let xml = soap11("<soapenv:Body><ser:q><name>张三</name></ser:q></soapenv:Body>");
        let (gbk, _, _) = encoding_rs::GBK.encode(&xml);
        let request = parse_request(&gbk, "text/xml; charset=GBK", None).unwrap();
        assert_eq!(request.params, vec![("name".into(), "张三".into())]);
        let declared = [b"<?xml version=\"1.0\" encoding=\"GBK\"?>".as_slice(), &gbk].concat();
        for content_type in ["text/xml", "text/xml; charset=utf-8"] {
            let request = parse_request(&declared, content_type, None).unwrap();
            assert_eq!(request.params, vec![("name".into(), "张三".into())]);
        }
        assert!(matches!(
            parse_request(&gbk, "text/xml; charset=utf-8", None),
            Err(SoapError::MalformedXml(_))
        ));
    }

    #[test]
    fn xxe_is_refused() {
        let xml = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
            soap11("<soapenv:Body><ser:q><a>&xxe;</a></ser:q></soapenv:Body>")
        );
        let error = parse_request(xml.as_bytes(), "text/xml", None).unwrap_err();
        assert!(error.to_string().contains("DOCTYPE"), "{error}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "<a>".repeat(300) + &"</a>".repeat(300);
        let xml = soap11(&format!("<soapenv:Body><ser:q>{deep}</ser:q></soapenv:Body>"));
        assert!(matches!(
            parse_request(xml.as_bytes(), "text/xml", None),
            Err(SoapError::MalformedXml(_))
        ));
    }

    #[test]
    fn each_malformed_case_has_its_error() {
        let v11 = "http://schemas.xmlsoap.org/soap/envelope/";
        let cases = [
            ("<a>", "text/xml", "malformed XML"),
            ("<root/>", "text/xml", "is not a SOAP Envelope"),
            (
                r#"<s:Envelope xmlns:s="urn:other"><s:Body/></s:Envelope>"#,
                "text/xml",
                "VersionMismatch",
            ),
            (&format!(r#"<s:Envelope xmlns:s="{v11}"/>"#), "text/xml", "has no Body"),
            (
                &format!(r#"<s:Envelope xmlns:s="{v11}"><s:Body> </s:Body></s:Envelope>"#),
                "text/xml",
                "Body is empty",
            ),
            (
                &format!(r#"<s:Envelope xmlns:s="{v11}"><s:Body><q/></s:Body></s:Envelope>"#),
                "application/soap+xml",
                "content type is SOAP 1.2 but the envelope is SOAP 1.1",
            ),
            (
                &format!(r#"<s:Envelope xmlns:s="{v11}"><s:Body><q><p><x/></p></q></s:Body></s:Envelope>"#),
                "text/xml",
                "parameter `p` holds elements",
            ),
            (
                &format!(r#"<s:Envelope xmlns:s="{v11}"/>"#),
                "application/json",
                "unsupported content type",
            ),
            (
                &format!(r#"<s:Envelope xmlns:s="{v11}"/>"#),
                "text/xml; charset=klingon",
                "unknown charset",
            ),
        ];
        for (xml, content_type, expected) in cases {
            let error = parse_request(xml.as_bytes(), content_type, None)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{xml}: {error}");
            assert_eq!(
                error.matches("malformed XML").count(),
                error.contains("malformed XML") as usize,
                "{error}"
            );
        }
    }

    #[test]
    fn version_errors_answer_with_version_mismatch() {
        let error = parse_request(br#"<Envelope><Body/></Envelope>"#, "", None).unwrap_err();
        assert_eq!(error, SoapError::VersionMismatch(String::new()));
        assert_eq!(error.fault_code(), crate::soap::FaultCode::VersionMismatch);
        assert_eq!(SoapError::NoBody.fault_code(), crate::soap::FaultCode::Client);
    }
}
