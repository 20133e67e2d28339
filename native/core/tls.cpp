#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <climits>
#include <stdexcept>

namespace roomwire {

namespace {

/// OpenSSL's reasons queued on this thread, joined (and the queue emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument(what + " (" + openssl_errors() + ")");
}

/// Gives OpenSSL the passphrase; with none, an encrypted key fails instead of prompting.
int passphrase_cb(char* buf, int size, int, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  if (pass->empty() || pass->size() > static_cast<std::size_t>(size)) return 0;
  pass->copy(buf, pass->size());
  return static_cast<int>(pass->size());
}

/// ALPN: http/1.1 when the client offers it; otherwise no protocol is named (a client
/// offering only h2 learns that it will not get it).
int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void*) {
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, http11, sizeof http11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

/// Every certificate in `pem`, in order: the first is used, the others sent after it.
int add_certificates(SSL_CTX* ctx, const std::string& pem, const char* name, bool first_is_leaf) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) bad(std::string("tls.") + name + ": out of memory");
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    int ok = count == 0 && first_is_leaf ? SSL_CTX_use_certificate(ctx, cert) : SSL_CTX_add1_chain_cert(ctx, cert);
    X509_free(cert);
    if (ok != 1) {
      BIO_free(bio);
      bad(std::string("tls.") + name + ": certificate " + std::to_string(count + 1) + " was refused");
    }
    ++count;
  }
  BIO_free(bio);
  // The loop ends on "no start line" once the certificates run out: expected, not an error.
  unsigned long last = ERR_peek_last_error();
  if (count > 0 && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) ERR_clear_error();
  if (count == 0) bad(std::string("tls.") + name + ": no PEM certificate found");
  return count;
}

}  // namespace

tls_context::tls_context(const tls_options& options) {
  ERR_clear_error();
  if (options.cert.empty()) throw std::invalid_argument("tls.cert is required");
  if (options.key.empty()) throw std::invalid_argument("tls.key is required");
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) bad("tls: cannot create a context");
  try {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Buffers are given back while a connection is idle: an idle wss connection holds no
    // 16 KB record buffers.
    SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_select_cb(ctx_, alpn_select, nullptr);
    add_certificates(ctx_, options.cert, "cert", true);
    if (!options.ca.empty()) add_certificates(ctx_, options.ca, "ca", false);
    BIO* bio = BIO_new_mem_buf(options.key.data(), static_cast<int>(options.key.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, passphrase_cb,
                                                  const_cast<std::string*>(&options.passphrase))
                        : nullptr;
    BIO_free(bio);
    if (!key)
      bad(options.passphrase.empty() ? "tls.key: not a PEM private key, or encrypted and no tls.passphrase given"
                                     : "tls.key: not a PEM private key, or the passphrase is wrong");
    int used = SSL_CTX_use_PrivateKey(ctx_, key);
    EVP_PKEY_free(key);
    if (used != 1) {
      if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) bad("tls.key does not match tls.cert");
      bad("tls.key was refused");
    }
    if (SSL_CTX_check_private_key(ctx_) != 1) bad("tls.key does not match tls.cert");
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

std::shared_ptr<tls_context> tls_context::insecure_client() {
  std::shared_ptr<tls_context> c(new tls_context());
  c->server_ = false;
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!c->ctx_) bad("tls: cannot create a context");
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(c->ctx_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  return c;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

tls_engine::tls_engine(std::shared_ptr<const tls_context> ctx) : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_->native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !in_ || !out_) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  // An empty buffer means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  if (ctx_->server()) SSL_set_accept_state(ssl_);
  else SSL_set_connect_state(ssl_);
}

tls_engine::~tls_engine() { SSL_free(ssl_); }

void tls_engine::feed(const char* data, std::size_t size) {
  while (size != 0) {
    int n = BIO_write(in_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
    if (n <= 0) return;  // out of memory: the next read fails the connection
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

tls_engine::status tls_engine::fail() {
  error_ = openssl_errors();
  return status::failed;
}

tls_engine::status tls_engine::read(char* out, std::size_t capacity, std::size_t& n) {
  n = 0;
  ERR_clear_error();
  int r = SSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(capacity, INT_MAX)));
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return status::ok;
  }
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      // The read buffer holds no whole record any more: start a fresh one, so a large
      // message's ciphertext is not kept for the life of the connection.
      if (BIO_ctrl_pending(in_) == 0) {
        BUF_MEM* mem = nullptr;
        BIO_get_mem_ptr(in_, &mem);
        if (mem && mem->max > 64 * 1024) {
          BIO* fresh = BIO_new(BIO_s_mem());
          if (fresh) {
            BIO_set_mem_eof_return(fresh, -1);
            SSL_set0_rbio(ssl_, fresh);
            in_ = fresh;
          }
        }
      }
      return status::want_read;
    case SSL_ERROR_ZERO_RETURN:
      return status::closed;
    default:
      return fail();
  }
}

tls_engine::status tls_engine::write(std::string_view plain) {
  if (plain.empty()) return status::ok;
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) == 1) return status::ok;
  switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return status::want_read;
    default:
      return fail();
  }
}

void tls_engine::take_output(std::string& out) {
  const std::size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const std::size_t at = out.size();
  out.resize(at + pending);
  int n = BIO_read(out_, out.data() + at, static_cast<int>(std::min<std::size_t>(pending, INT_MAX)));
  out.resize(at + (n > 0 ? static_cast<std::size_t>(n) : 0));
  // As for reads: a buffer grown by a large message is not kept once it is empty.
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(out_, &mem);
  if (BIO_ctrl_pending(out_) == 0 && mem && mem->max > 64 * 1024) {
    BIO* fresh = BIO_new(BIO_s_mem());
    if (fresh) {
      BIO_set_mem_eof_return(fresh, -1);
      SSL_set0_wbio(ssl_, fresh);
      out_ = fresh;
    }
  }
}

bool tls_engine::has_output() const { return BIO_ctrl_pending(out_) != 0; }

bool tls_engine::has_input() const { return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_) != 0; }

void tls_engine::close_notify() {
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string tls_engine::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

}  // namespace roomwire
