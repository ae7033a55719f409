import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.net.URL;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.jws.WebMethod;
import javax.jws.WebParam;
import javax.xml.namespace.QName;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.Service;
import javax.xml.ws.WebEndpoint;
import javax.xml.ws.soap.SOAPBinding;
import javax.xml.ws.soap.SOAPFaultException;

/**
 * Calls a medbus SOAP service through the client that JAX-WS RI's wsimport
 * generated from the service's WSDL (call.sh runs wsimport, then this).
 *
 *     java Call SERVICE_CLASS WSDL_URL BINDING OPERATION PARAMS_JSON [OPERATION PARAMS_JSON ...]
 *
 * SERVICE_CLASS is the generated javax.xml.ws.Service subclass; BINDING is
 * 1.1 or 1.2, the port whose binding is SOAP 1.1 or 1.2. The generated port
 * methods are called by their operation and parameter names, as an
 * application calls them. Prints one JSON line, as zeep_call.py does: per
 * call {"operation", "return"} or {"operation", "fault": {"code", "message"}}.
 */
public class Call {
    public static void main(String[] args) throws Exception {
        if (args.length < 5 || args.length % 2 != 1) {
            throw new IllegalArgumentException("usage: Call SERVICE_CLASS WSDL_URL BINDING (OPERATION PARAMS_JSON)...");
        }
        Class<?> serviceClass = Class.forName(args[0]);
        Service service = (Service) serviceClass.getConstructor(URL.class).newInstance(new URL(args[1]));
        Object port = portFor(service, serviceClass, args[2]);
        List<String> results = new ArrayList<>();
        for (int i = 3; i < args.length; i += 2) {
            results.add(call(port, args[i], parseObject(args[i + 1])));
        }
        System.out.println("[" + String.join(",", results) + "]");
    }

    /** The port, among the generated service's, whose binding is SOAP `version`. */
    static Object portFor(Service service, Class<?> serviceClass, String version) throws Exception {
        String wanted = switch (version) {
            case "1.1" -> SOAPBinding.SOAP11HTTP_BINDING;
            case "1.2" -> SOAPBinding.SOAP12HTTP_BINDING;
            default -> throw new IllegalArgumentException("binding " + version + " is neither 1.1 nor 1.2");
        };
        for (Method getter : serviceClass.getMethods()) {
            WebEndpoint endpoint = getter.getAnnotation(WebEndpoint.class);
            if (endpoint == null || getter.getParameterCount() != 0) {
                continue;
            }
            Object port = getter.invoke(service);
            if (((BindingProvider) port).getBinding().getBindingID().equals(wanted)) {
                return port;
            }
        }
        throw new IllegalStateException("the WSDL's service has no SOAP " + version + " port");
    }

    static String call(Object port, String operation, Map<String, String> params) throws Exception {
        Method method = operationMethod(port, operation);
        Parameter[] parameters = method.getParameters();
        Object[] values = new Object[parameters.length];
        for (int i = 0; i < parameters.length; i++) {
            WebParam name = parameters[i].getAnnotation(WebParam.class);
            values[i] = params.get(name == null ? parameters[i].getName() : name.name());
        }
        try {
            Object answer = method.invoke(port, values);
            return "{\"operation\":" + quote(operation) + ",\"return\":" + (answer == null ? "null" : quote(answer.toString())) + "}";
        } catch (InvocationTargetException e) {
            if (!(e.getCause() instanceof SOAPFaultException fault)) {
                throw e;
            }
            QName code = fault.getFault().getFaultCodeAsQName();
            return "{\"operation\":" + quote(operation) + ",\"fault\":{\"code\":" + quote(code.getLocalPart())
                + ",\"message\":" + quote(fault.getFault().getFaultString()) + "}}";
        }
    }

    static Method operationMethod(Object port, String operation) {
        for (Class<?> api : port.getClass().getInterfaces()) {
            for (Method method : api.getMethods()) {
                WebMethod web = method.getAnnotation(WebMethod.class);
                String name = web != null && !web.operationName().isEmpty() ? web.operationName() : method.getName();
                if (name.equals(operation)) {
                    return method;
                }
            }
        }
        throw new IllegalArgumentException("the generated client has no operation " + operation);
    }

    /** A JSON object of strings, as the tests pass parameters. */
    static Map<String, String> parseObject(String json) {
        Map<String, String> object = new LinkedHashMap<>();
        int[] at = {skipSpace(json, 0)};
        expect(json, at, '{');
        if (peek(json, at) == '}') {
            at[0]++;
            return object;
        }
        while (true) {
            String key = parseString(json, at);
            expect(json, at, ':');
            object.put(key, parseString(json, at));
            char next = peek(json, at);
            at[0]++;
            if (next == '}') {
                return object;
            }
            if (next != ',') {
                throw new IllegalArgumentException("expected , or } at " + (at[0] - 1) + " in " + json);
            }
        }
    }

    static String parseString(String json, int[] at) {
        expect(json, at, '"');
        StringBuilder text = new StringBuilder();
        while (true) {
            char c = json.charAt(at[0]++);
            if (c == '"') {
                return text.toString();
            }
            if (c != '\\') {
                text.append(c);
                continue;
            }
            char escaped = json.charAt(at[0]++);
            switch (escaped) {
                case 'n' -> text.append('\n');
                case 'r' -> text.append('\r');
                case 't' -> text.append('\t');
                case 'b' -> text.append('\b');
                case 'f' -> text.append('\f');
                case 'u' -> {
                    text.append((char) Integer.parseInt(json.substring(at[0], at[0] + 4), 16));
                    at[0] += 4;
                }
                default -> text.append(escaped);
            }
        }
    }

    static void expect(String json, int[] at, char wanted) {
        if (peek(json, at) != wanted) {
            throw new IllegalArgumentException("expected " + wanted + " at " + at[0] + " in " + json);
        }
        at[0]++;
    }

    static char peek(String json, int[] at) {
        at[0] = skipSpace(json, at[0]);
        return json.charAt(at[0]);
    }

    static int skipSpace(String json, int at) {
        while (at < json.length() && Character.isWhitespace(json.charAt(at))) {
            at++;
        }
        return at;
    }

    static String quote(String text) {
        StringBuilder json = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"').toString();
    }
}
