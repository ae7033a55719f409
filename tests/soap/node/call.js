#!/usr/bin/env node
// Calls a medbus SOAP service with node-soap, a client nobody on the team wrote.
//
//     call.js WSDL_URL BINDING OPERATION PARAMS_JSON [OPERATION PARAMS_JSON ...]
//
// BINDING is `1.1` or `1.2`: the port of the WSDL's service whose binding is SOAP 1.1 or 1.2.
// Prints one JSON line: a list with, per call, {"operation", "return"} or
// {"operation", "fault": {"code", "message"}}.
let soap;
try {
  soap = require('soap');
} catch (e) {
  console.error('node-soap is not installed; run `npm ci --prefix tests/soap/node`');
  process.exit(2);
}

async function main(argv) {
  if (argv.length < 4 || argv.length % 2 !== 0) {
    throw new Error('usage: call.js WSDL_URL BINDING OPERATION PARAMS_JSON [OPERATION PARAMS_JSON ...]');
  }
  const [url, binding, ...calls] = argv;
  const soap12 = binding === '1.2';
  if (!soap12 && binding !== '1.1') throw new Error(`binding \`${binding}\` is neither 1.1 nor 1.2`);
  const client = await soap.createClientAsync(url, { forceSoap12Headers: soap12 });
  const services = client.describe();
  const service = Object.keys(services)[0];
  const port = Object.keys(services[service]).find((name) => name.endsWith('Soap12Port') === soap12);
  if (!port) throw new Error(`the WSDL has no SOAP ${binding} port`);
  const proxy = client[service][port];
  const results = [];
  for (let i = 0; i < calls.length; i += 2) {
    const operation = calls[i];
    try {
      const result = await new Promise((resolve, reject) =>
        proxy[operation](JSON.parse(calls[i + 1]), (error, answer) => (error ? reject(error) : resolve(answer))));
      results.push({ operation, return: result ? result.return : null });
    } catch (error) {
      const fault = error.root && error.root.Envelope && error.root.Envelope.Body && error.root.Envelope.Body.Fault;
      if (!fault) throw error;
      const code = fault.faultcode || (fault.Code && fault.Code.Value) || '';
      const message = fault.faultstring || (fault.Reason && fault.Reason.Text && (fault.Reason.Text.$value || fault.Reason.Text)) || '';
      results.push({ operation, fault: { code: String(code), message: String(message) } });
    }
  }
  console.log(JSON.stringify(results));
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
