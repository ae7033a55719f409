//! The client side: a document/literal wrapped request, and the response it gets.

use super::read::{read_envelope, Element};
use super::text::{envelope, escape};
use super::{content_type, SoapError, SoapVersion};
use crate::xml;
use serde_json::{Map, Value};

/// Writes a request for `operation` with unqualified string parameters, in order.
///
/// Returns the `Content-Type`, the `SOAPAction` header to send (1.1 only: `"{action}"`, or `""`
/// as CXF clients send without one) and the body. In 1.2 the action goes in the content type.
/// Names must be XML NCNames.
pub fn request_envelope(
    version: SoapVersion,
    service_ns: &str,
    operation: &str,
    params: &[(&str, &str)],
    action: Option<&str>,
) -> (String, Option<String>, String) {
    let mut body = format!(r#"<ns:{operation} xmlns:ns="{}">"#, escape(service_ns, true));
    for (name, value) in params {
        body.push_str(&format!("<{name}>{}</{name}>", escape(value, false)));
    }
    body.push_str(&format!("</ns:{operation}>"));
    let quoted = |action: &str| format!("\"{}\"", action.replace('\\', "\\\\").replace('"', "\\\""));
    let (content_type, soap_action) = match (version, action) {
        (SoapVersion::V11, _) => (content_type(version).to_string(), Some(quoted(action.unwrap_or("")))),
        (SoapVersion::V12, Some(action)) => (format!("{}; action={}", content_type(version), quoted(action)), None),
        (SoapVersion::V12, None) => (content_type(version).to_string(), None),
    };
    (content_type, soap_action, envelope(version, &body))
}

/// A response as a client sees it: a return value, or a fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoapResponse {
    /// The text of the first element inside the `*Response` element (usually `return`);
    /// `None` when it has none (a void operation) or the response is a fault.
    pub return_text: Option<String>,
    pub fault: Option<Fault>,
}

/// A SOAP fault read from a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The local part of the code: `Client`, `Server`, `Sender`, `Receiver`, `Client.Auth`…
    pub code: String,
    /// `faultstring` (1.1) or the first `Reason/Text` (1.2).
    pub string: String,
    /// The detail's text, or its elements as XML (prefixes as written).
    pub detail: Option<String>,
}

/// Reads a response from its HTTP body and `Content-Type`.
pub fn parse_response(body: &[u8], content_type: &str) -> Result<SoapResponse, SoapError> {
    let envelope = read_envelope(body, content_type)?;
    let entry = envelope.entry;
    if entry.local == "Fault" && entry.ns.as_deref() == Some(envelope.version.envelope_ns()) {
        return Ok(SoapResponse {
            return_text: None,
            fault: Some(read_fault(&entry, envelope.version)?),
        });
    }
    let return_text = match entry.children().into_iter().next() {
        Some(first) => Some(first.text().ok_or(SoapError::ParamNotText(first.local))?),
        None => None,
    };
    Ok(SoapResponse {
        return_text,
        fault: None,
    })
}

fn read_fault(fault: &Element, version: SoapVersion) -> Result<Fault, SoapError> {
    let parts = fault.children();
    let part = |name: &str| parts.iter().find(|part| part.local == name);
    let text = |element: Option<&Element>| element.and_then(Element::text).unwrap_or_default();
    let first_child = |element: Option<&Element>| element.and_then(|e| e.children().into_iter().next());
    let (code, string, detail) = match version {
        SoapVersion::V11 => (
            part("faultcode").and_then(Element::text),
            text(part("faultstring")),
            part("detail"),
        ),
        SoapVersion::V12 => (
            first_child(part("Code")).and_then(|value| value.text()),
            text(first_child(part("Reason")).as_ref()),
            part("Detail"),
        ),
    };
    let code = code.ok_or_else(|| SoapError::MalformedFault("it has no fault code".into()))?;
    let code = code.trim();
    let code = code.split_once(':').map_or(code, |(_, local)| local).to_string();
    Ok(Fault {
        code,
        string,
        detail: detail.map(detail_text),
    })
}

fn detail_text(detail: &Element) -> String {
    if let Some(text) = detail.text() {
        return text;
    }
    detail
        .children()
        .into_iter()
        .filter_map(|child| xml::write(&Value::Object(Map::from_iter([(child.name, child.value)]))).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::parse_request;

    const NS: &str = "urn:svc";

    #[test]
    fn soap_action_per_version() {
        let (content_type, action, _) = request_envelope(SoapVersion::V11, NS, "q", &[], None);
        assert_eq!(
            (content_type.as_str(), action.as_deref()),
            ("text/xml; charset=utf-8", Some("\"\""))
        );
        let (_, action, _) = request_envelope(SoapVersion::V11, NS, "q", &[], Some("urn:svc/q"));
        assert_eq!(action.as_deref(), Some("\"urn:svc/q\""));
        let (content_type, action, _) = request_envelope(SoapVersion::V12, NS, "q", &[], Some("urn:svc/q"));
        assert_eq!(
            content_type,
            "application/soap+xml; charset=utf-8; action=\"urn:svc/q\""
        );
        assert_eq!(action, None);
        let (content_type, _, _) = request_envelope(SoapVersion::V12, NS, "q", &[], None);
        assert_eq!(content_type, "application/soap+xml; charset=utf-8");
    }

    #[test]
    fn request_body_is_wrapped_with_unqualified_params() {
        let (content_type, action, body) = request_envelope(SoapVersion::V11, NS, "q", &[("a", "1<2")], None);
        assert!(
            body.ends_with(r#"<soap:Body><ns:q xmlns:ns="urn:svc"><a>1&lt;2</a></ns:q></soap:Body></soap:Envelope>"#)
        );
        let request = parse_request(body.as_bytes(), &content_type, action.as_deref()).unwrap();
        assert_eq!(request.params, vec![("a".into(), "1<2".into())]);
        assert_eq!(request.action, None);
    }

    #[test]
    fn response_return_cdata_and_void() {
        let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
            <ns2:queryResponse xmlns:ns2="urn:svc"><return><![CDATA[<r>张三</r>]]></return></ns2:queryResponse>
            </soap:Body></soap:Envelope>"#;
        let response = parse_response(xml.as_bytes(), "text/xml;charset=UTF-8").unwrap();
        assert_eq!(response.return_text.as_deref(), Some("<r>张三</r>"));
        let void = xml.replace("<return><![CDATA[<r>张三</r>]]></return>", "");
        assert_eq!(
            parse_response(void.as_bytes(), "text/xml").unwrap(),
            SoapResponse::default()
        );
    }

    #[test]
    fn faults_with_detail() {
        let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
            <faultcode>soap:Client.Auth</faultcode><faultstring>拒绝</faultstring>
            <detail><e:err xmlns:e="urn:e">code 7</e:err></detail></soap:Fault></soap:Body></soap:Envelope>"#;
        let fault = parse_response(xml.as_bytes(), "text/xml").unwrap().fault.unwrap();
        assert_eq!(
            fault,
            Fault {
                code: "Client.Auth".into(),
                string: "拒绝".into(),
                detail: Some(r#"<e:err xmlns:e="urn:e">code 7</e:err>"#.into()),
            }
        );
        let xml = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>
            <env:Code><env:Value>env:Receiver</env:Value></env:Code>
            <env:Reason><env:Text xml:lang="zh">失败</env:Text></env:Reason><env:Detail>d</env:Detail>
            </env:Fault></env:Body></env:Envelope>"#;
        let fault = parse_response(xml.as_bytes(), "application/soap+xml")
            .unwrap()
            .fault
            .unwrap();
        assert_eq!((fault.code.as_str(), fault.string.as_str()), ("Receiver", "失败"));
        assert_eq!(fault.detail.as_deref(), Some("d"));
        let broken = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>"#;
        assert!(matches!(
            parse_response(broken.as_bytes(), "text/xml"),
            Err(SoapError::MalformedFault(_))
        ));
    }
}
