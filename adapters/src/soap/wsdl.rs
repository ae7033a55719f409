//! A WSDL 1.1 description of a service, document/literal wrapped, as Apache CXF writes one for a
//! JAX-WS service whose operations take and return strings.

use super::text::escape;

const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
const SOAP11_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const SOAP12_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const HTTP_TRANSPORT: &str = "http://schemas.xmlsoap.org/soap/http";

/// A service to describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDescription {
    /// The service name (an NCName); ports, bindings and the port type are named after it.
    pub name: String,
    /// The target namespace, also the namespace of the operation elements.
    pub namespace: String,
    /// The endpoint's full URL, for both ports.
    pub address: String,
    pub operations: Vec<OperationDescription>,
}

/// An operation: string parameters in order, one string `return`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationDescription {
    pub name: String,
    pub params: Vec<String>,
}

impl ServiceDescription {
    /// Checks what the WSDL and the envelopes rely on: names are NCNames, operations are unique
    /// (and none is named like another's `…Response`), parameters are unique in their operation,
    /// the namespace is not empty.
    pub fn validate(&self) -> Result<(), String> {
        let ncname = |what: &str, name: &str| match crate::xml::is_name(name) && !name.contains(':') {
            true => Ok(()),
            false => Err(format!("{what} `{name}` is not an XML name without a colon")),
        };
        ncname("service name", &self.name)?;
        if self.namespace.trim().is_empty() {
            return Err(format!("service `{}` has an empty namespace", self.name));
        }
        let mut elements = std::collections::HashSet::new();
        for operation in &self.operations {
            ncname("operation", &operation.name)?;
            for element in [operation.name.clone(), format!("{}Response", operation.name)] {
                if !elements.insert(element.clone()) {
                    return Err(format!(
                        "operation `{}` clashes with element `{element}`",
                        operation.name
                    ));
                }
            }
            let mut params = std::collections::HashSet::new();
            for param in &operation.params {
                ncname("parameter", param)?;
                if !params.insert(param) {
                    return Err(format!("operation `{}` has parameter `{param}` twice", operation.name));
                }
            }
        }
        Ok(())
    }
}

/// Writes the WSDL: an embedded schema (`elementFormDefault="unqualified"`), messages, a port
/// type, SOAP 1.1 and SOAP 1.2 bindings (`soapAction=""`) and a service with a port for each.
/// Operations stay in the given order, so the output is deterministic. Call
/// [`ServiceDescription::validate`] first: names are written as given.
pub fn wsdl(service: &ServiceDescription) -> String {
    let name = &service.name;
    let ns = escape(&service.namespace, true);
    let mut out = Lines::default();
    out.line(0, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.line(
        0,
        &format!(
            "<wsdl:definitions xmlns:wsdl=\"{WSDL_NS}\" xmlns:xs=\"{XSD_NS}\" xmlns:soap=\"{SOAP11_BINDING_NS}\" \
             xmlns:soap12=\"{SOAP12_BINDING_NS}\" xmlns:tns=\"{ns}\" name=\"{name}\" targetNamespace=\"{ns}\">"
        ),
    );
    out.line(1, "<wsdl:types>");
    out.line(
        2,
        &format!(
            r#"<xs:schema xmlns:tns="{ns}" elementFormDefault="unqualified" targetNamespace="{ns}" version="1.0">"#
        ),
    );
    for op in &service.operations {
        let op = &op.name;
        out.line(3, &format!(r#"<xs:element name="{op}" type="tns:{op}"/>"#));
        out.line(
            3,
            &format!(r#"<xs:element name="{op}Response" type="tns:{op}Response"/>"#),
        );
    }
    for op in &service.operations {
        let params: Vec<&str> = op.params.iter().map(String::as_str).collect();
        complex_type(&mut out, &op.name, &params);
        complex_type(&mut out, &format!("{}Response", op.name), &["return"]);
    }
    out.line(2, "</xs:schema>");
    out.line(1, "</wsdl:types>");
    for op in &service.operations {
        for message in [op.name.clone(), format!("{}Response", op.name)] {
            out.line(1, &format!(r#"<wsdl:message name="{message}">"#));
            out.line(2, &format!(r#"<wsdl:part element="tns:{message}" name="parameters"/>"#));
            out.line(1, "</wsdl:message>");
        }
    }
    out.line(1, &format!(r#"<wsdl:portType name="{name}PortType">"#));
    for op in &service.operations {
        let op = &op.name;
        out.line(2, &format!(r#"<wsdl:operation name="{op}">"#));
        out.line(3, &format!(r#"<wsdl:input message="tns:{op}" name="{op}"/>"#));
        out.line(
            3,
            &format!(r#"<wsdl:output message="tns:{op}Response" name="{op}Response"/>"#),
        );
        out.line(2, "</wsdl:operation>");
    }
    out.line(1, "</wsdl:portType>");
    for (prefix, binding) in [("soap", "SoapBinding"), ("soap12", "Soap12Binding")] {
        out.line(
            1,
            &format!(r#"<wsdl:binding name="{name}{binding}" type="tns:{name}PortType">"#),
        );
        out.line(
            2,
            &format!(r#"<{prefix}:binding style="document" transport="{HTTP_TRANSPORT}"/>"#),
        );
        for op in &service.operations {
            let op = &op.name;
            out.line(2, &format!(r#"<wsdl:operation name="{op}">"#));
            out.line(3, &format!(r#"<{prefix}:operation soapAction="" style="document"/>"#));
            for (direction, message) in [("input", op.clone()), ("output", format!("{op}Response"))] {
                out.line(3, &format!(r#"<wsdl:{direction} name="{message}">"#));
                out.line(4, &format!(r#"<{prefix}:body use="literal"/>"#));
                out.line(3, &format!("</wsdl:{direction}>"));
            }
            out.line(2, "</wsdl:operation>");
        }
        out.line(1, "</wsdl:binding>");
    }
    let address = escape(&service.address, true);
    out.line(1, &format!(r#"<wsdl:service name="{name}">"#));
    for (prefix, binding, port) in [
        ("soap", "SoapBinding", "Port"),
        ("soap12", "Soap12Binding", "Soap12Port"),
    ] {
        out.line(
            2,
            &format!(r#"<wsdl:port binding="tns:{name}{binding}" name="{name}{port}">"#),
        );
        out.line(3, &format!(r#"<{prefix}:address location="{address}"/>"#));
        out.line(2, "</wsdl:port>");
    }
    out.line(1, "</wsdl:service>");
    out.line(0, "</wsdl:definitions>");
    out.0
}

fn complex_type(out: &mut Lines, name: &str, fields: &[&str]) {
    out.line(3, &format!(r#"<xs:complexType name="{name}">"#));
    out.line(4, "<xs:sequence>");
    for field in fields {
        out.line(
            5,
            &format!(r#"<xs:element minOccurs="0" name="{field}" type="xs:string"/>"#),
        );
    }
    out.line(4, "</xs:sequence>");
    out.line(3, "</xs:complexType>");
}

/// Output indented two spaces a level, one element a line.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, level: usize, text: &str) {
        self.0.extend(std::iter::repeat_n("  ", level));
        self.0.push_str(text);
        self.0.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn service() -> ServiceDescription {
        ServiceDescription {
            name: "EmergencyService".into(),
            namespace: "http://service.emergency.example.cn/".into(),
            address: "http://10.0.0.5:8080/ws/emergency?a=1&b=2".into(),
            operations: vec![
                OperationDescription {
                    name: "pushApplyRecord".into(),
                    params: vec!["applyData".into(), "token".into()],
                },
                OperationDescription {
                    name: "ping".into(),
                    params: vec![],
                },
            ],
        }
    }

    /// The items of `value[key]`, one or many.
    fn all<'v>(value: &'v Value, key: &str) -> Vec<&'v Value> {
        match &value[key] {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        }
    }

    fn names(items: &[&Value]) -> Vec<String> {
        items
            .iter()
            .map(|item| item["@name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn wsdl_is_well_formed_and_complete() {
        let text = wsdl(&service());
        let doc = crate::xml::parse(&text).unwrap();
        let definitions = &doc["wsdl:definitions"];
        assert_eq!(definitions["@targetNamespace"], "http://service.emergency.example.cn/");

        let schema = &definitions["wsdl:types"]["xs:schema"];
        assert_eq!(schema["@elementFormDefault"], "unqualified");
        assert_eq!(schema["@targetNamespace"], "http://service.emergency.example.cn/");
        let elements = names(&all(schema, "xs:element"));
        assert_eq!(
            elements,
            ["pushApplyRecord", "pushApplyRecordResponse", "ping", "pingResponse"]
        );
        let types = all(schema, "xs:complexType");
        assert_eq!(names(&types), elements);
        let fields = names(&all(&types[0]["xs:sequence"], "xs:element"));
        assert_eq!(fields, ["applyData", "token"]);
        for field in all(&types[0]["xs:sequence"], "xs:element") {
            assert_eq!(
                (&field["@type"], &field["@minOccurs"]),
                (&"xs:string".into(), &"0".into())
            );
        }
        assert_eq!(names(&all(&types[1]["xs:sequence"], "xs:element")), ["return"]);
        assert!(all(&types[2]["xs:sequence"], "xs:element").is_empty());

        let messages = all(definitions, "wsdl:message");
        assert_eq!(names(&messages), elements);
        for message in &messages {
            assert_eq!(message["wsdl:part"]["@name"], "parameters");
            assert_eq!(
                message["wsdl:part"]["@element"],
                format!("tns:{}", message["@name"].as_str().unwrap())
            );
        }

        let operations = ["pushApplyRecord", "ping"];
        let port_type = &definitions["wsdl:portType"];
        assert_eq!(names(&all(port_type, "wsdl:operation")), operations);
        let bindings = all(definitions, "wsdl:binding");
        assert_eq!(
            names(&bindings),
            ["EmergencyServiceSoapBinding", "EmergencyServiceSoap12Binding"]
        );
        for (binding, prefix) in bindings.iter().zip(["soap", "soap12"]) {
            assert_eq!(binding[format!("{prefix}:binding")]["@style"], "document");
            let ops = all(binding, "wsdl:operation");
            assert_eq!(names(&ops), operations);
            for op in ops {
                assert_eq!(op[format!("{prefix}:operation")]["@soapAction"], "");
                assert_eq!(op["wsdl:input"][format!("{prefix}:body")]["@use"], "literal");
                assert_eq!(op["wsdl:output"][format!("{prefix}:body")]["@use"], "literal");
            }
        }
        let ports = all(&definitions["wsdl:service"], "wsdl:port");
        assert_eq!(names(&ports), ["EmergencyServicePort", "EmergencyServiceSoap12Port"]);
        assert_eq!(
            ports[0]["soap:address"]["@location"],
            "http://10.0.0.5:8080/ws/emergency?a=1&b=2"
        );
        assert_eq!(
            ports[1]["soap12:address"]["@location"],
            "http://10.0.0.5:8080/ws/emergency?a=1&b=2"
        );
        assert_eq!(text, wsdl(&service()), "deterministic");
    }

    #[test]
    fn validation() {
        assert_eq!(service().validate(), Ok(()));
        let mut bad = service();
        bad.operations[1].name = "pushApplyRecordResponse".into();
        assert!(bad.validate().unwrap_err().contains("clashes"));
        let mut bad = service();
        bad.operations[0].params[1] = "applyData".into();
        assert!(bad.validate().unwrap_err().contains("twice"));
        let mut bad = service();
        bad.operations[0].params[0] = "ns:x".into();
        assert!(bad.validate().unwrap_err().contains("not an XML name"));
        let mut bad = service();
        bad.namespace = " ".into();
        assert!(bad.validate().is_err());
    }
}
