/**
 * Certificates for the TLS tests, made at run time with the openssl command (Debian's
 * `openssl` package, installed by scripts/setup.sh): a CA, a leaf for localhost and
 * 127.0.0.1 signed by it, a second self-signed leaf, and the leaf's key encrypted.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface TestCerts {
  caCert: string;
  leafKey: string;
  leafCert: string;
  /** leafKey encrypted with `passphrase`. */
  encryptedKey: string;
  passphrase: string;
  /** Another self-signed pair, for a renewal. */
  otherKey: string;
  otherCert: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes the certificates in a temporary directory (removed before returning). */
export function makeCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomwire-tls-'));
  try {
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(dir, ['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=roomwire test CA']);
    openssl(dir, ['req', ...newKey, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
    openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem',
      '-days', '2', '-extfile', 'ext.cnf']);
    openssl(dir, ['pkey', '-in', 'leaf.key', '-aes256', '-passout', 'pass:correct horse', '-out', 'enc.key']);
    openssl(dir, ['req', '-x509', ...newKey, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
    return {
      caCert: read('ca.pem'), leafKey: read('leaf.key'), leafCert: read('leaf.pem'), encryptedKey: read('enc.key'),
      passphrase: 'correct horse', otherKey: read('other.key'), otherCert: read('other.pem'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
