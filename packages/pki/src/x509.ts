// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
// installed before the library module is evaluated: this import must stay first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// The library's default provider is process-wide; every module here reaches x509 through this file,
// so the provider is set exactly once, to Node's WebCrypto.
x509.cryptoProvider.set(globalThis.crypto);

/** The @peculiar/x509 namespace with reflect-metadata loaded and Node's WebCrypto as its provider. */
export { x509 };
