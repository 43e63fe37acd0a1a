// --ssl_config_file: TF Serving's tensorflow.serving.SSLConfig (gRPC and REST TLS) in protobuf text format, e.g.
//
//   server_key: "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n"
//   server_cert: "-----BEGIN CERTIFICATE-----\n…"
//   custom_ca: "-----BEGIN CERTIFICATE-----\n…"
//   client_verify: true
//
// The values are PEM text (not file names). Strings follow text-format rules: single or double
// quotes, C escapes, adjacent literals concatenate; raw newlines inside quotes are accepted too.

import { readFileSync } from 'node:fs';
import { invalidArgument } from '../errors.js';

export interface SslConfig {
  serverKey: string;
  serverCert: string;
  customCa: string;
  clientVerify: boolean;
}

const STRING_FIELDS = { server_key: 'serverKey', server_cert: 'serverCert', custom_ca: 'customCa' } as const;

export function parseSslConfig(text: string, source = 'SSLConfig'): SslConfig {
  const config: SslConfig = { serverKey: '', serverCert: '', customCa: '', clientVerify: false };
  let pos = 0;
  const fail = (msg: string): never => {
    const line = text.slice(0, pos).split('\n').length;
    throw invalidArgument(`${source}: line ${line}: ${msg}`);
  };
  const skipSpace = () => {
    for (;;) {
      while (pos < text.length && /[\s,;]/.test(text[pos]!)) pos++;
      if (text[pos] === '#') {
        while (pos < text.length && text[pos] !== '\n') pos++;
        continue;
      }
      return;
    }
  };
  const readString = (): string => {
    let out = '';
    for (;;) {
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") return out;
      pos++;
      for (;;) {
        if (pos >= text.length) fail('unterminated string');
        const c = text[pos++]!;
        if (c === quote) break;
        if (c !== '\\') {
          out += c;
          continue;
        }
        const e = text[pos++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'a': out += '\x07'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          case 'x': {
            const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(pos));
            if (!m) fail('bad \\x escape');
            out += String.fromCharCode(parseInt(m![0], 16));
            pos += m![0].length;
            break;
          }
          default:
            if (e !== undefined && /[0-7]/.test(e)) {
              const m = /^[0-7]{1,3}/.exec(text.slice(pos - 1))!;
              out += String.fromCharCode(parseInt(m[0], 8));
              pos += m[0].length - 1;
            } else if (e !== undefined) {
              out += e; // \\ \" \' \?
            } else {
              fail('unterminated string');
            }
        }
      }
      skipSpace();
    }
  };

  skipSpace();
  while (pos < text.length) {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos));
    if (!m) fail(`unexpected '${text[pos]}'`);
    const name = m![0];
    pos += name.length;
    skipSpace();
    if (text[pos] === ':') {
      pos++;
      skipSpace();
    }
    if (name in STRING_FIELDS) {
      if (text[pos] !== '"' && text[pos] !== "'") fail(`${name} needs a quoted string value`);
      config[STRING_FIELDS[name as keyof typeof STRING_FIELDS]] = readString();
    } else if (name === 'client_verify') {
      const v = /^[A-Za-z0-9]+/.exec(text.slice(pos));
      if (!v) fail('client_verify needs true or false');
      const word = v![0];
      pos += word.length;
      if (['true', 'True', 't', '1'].includes(word)) config.clientVerify = true;
      else if (['false', 'False', 'f', '0'].includes(word)) config.clientVerify = false;
      else fail(`client_verify: '${word}' is not a boolean`);
    } else {
      fail(`unknown field '${name}' (SSLConfig has server_key, server_cert, custom_ca, client_verify)`);
    }
    skipSpace();
  }
  return config;
}

export function readSslConfigFile(path: string): SslConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read --ssl_config_file ${path}: ${(err as Error).message}`);
  }
  return parseSslConfig(text, path);
}

/** Checks what every listener needs of an SSLConfig (the same checks for gRPC and REST). */
export function validateSslConfig(config: SslConfig): void {
  if (!config.serverKey || !config.serverCert) {
    throw invalidArgument('SSLConfig needs both server_key and server_cert');
  }
  if (config.clientVerify && !config.customCa) {
    throw invalidArgument('SSLConfig client_verify needs custom_ca (the CA client certificates must chain to)');
  }
}
