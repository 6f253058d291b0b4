//! The verifier behind `ssl_verify = false`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// `ssl_verify = false`, as OpenResty does without verification: any certificate chain and
/// name is accepted. The handshake signatures are still checked (the peer holds the key of
/// the certificate it showed), which proves nothing without a trusted chain: the traffic is
/// encrypted, the server is not authenticated.
///
/// ```
/// use std::sync::Arc;
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
///     .with_safe_default_protocol_versions()
///     .unwrap()
///     .dangerous()
///     .with_custom_certificate_verifier(Arc::new(
///         session_net::tls::AcceptAnyCertificate::new(&provider),
///     ))
///     .with_no_client_auth();
/// # let _ = config;
/// ```
#[derive(Debug)]
pub struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AcceptAnyCertificate {
    /// A verifier checking handshake signatures with `provider`'s algorithms.
    ///
    /// ```
    /// let provider = rustls::crypto::ring::default_provider();
    /// let _verifier = session_net::tls::AcceptAnyCertificate::new(&provider);
    /// ```
    #[must_use]
    pub fn new(provider: &CryptoProvider) -> Self {
        Self {
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// The same, ready for `with_custom_certificate_verifier`.
    ///
    /// ```
    /// let provider = rustls::crypto::ring::default_provider();
    /// let _verifier = session_net::tls::AcceptAnyCertificate::shared(&provider);
    /// ```
    #[must_use]
    pub fn shared(provider: &CryptoProvider) -> Arc<Self> {
        Arc::new(Self::new(provider))
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
