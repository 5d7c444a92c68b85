//! A test certificate authority: a CA and a certificate it signed for
//! `127.0.0.1` and `localhost`, good for a server and a client (mutual
//! TLS), made with `openssl` as PEM files in a directory of the caller's.
//! What the TLS tests of gRPC, SMTP, Redis and NATS share.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PEM files of a test CA and the leaf certificate it signed.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA's certificate: what a client or server trusts.
    pub ca: PathBuf,
    /// The leaf certificate (for `127.0.0.1` and `localhost`).
    pub cert: PathBuf,
    /// The leaf's private key (unencrypted).
    pub key: PathBuf,
}

impl TestCa {
    /// Makes a CA and a leaf in `dir` (valid one day). Fails when `openssl`
    /// is missing (`apt-get install openssl`) or refuses, quoting its error.
    pub fn make(dir: &Path) -> io::Result<TestCa> {
        let path = |name: &str| dir.join(name);
        let ext = path("leaf.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )?;
        let (ca, ca_key) = (path("ca.pem"), path("ca.key"));
        let (cert, key, csr) = (path("leaf.pem"), path("leaf.key"), path("leaf.csr"));
        openssl(&[
            "req".as_ref(),
            "-x509".as_ref(),
            "-newkey".as_ref(),
            "rsa:2048".as_ref(),
            "-nodes".as_ref(),
            "-days".as_ref(),
            "1".as_ref(),
            "-subj".as_ref(),
            "/CN=Omniroute Test CA".as_ref(),
            "-keyout".as_ref(),
            ca_key.as_os_str(),
            "-out".as_ref(),
            ca.as_os_str(),
        ])?;
        openssl(&[
            "req".as_ref(),
            "-newkey".as_ref(),
            "rsa:2048".as_ref(),
            "-nodes".as_ref(),
            "-subj".as_ref(),
            "/CN=127.0.0.1".as_ref(),
            "-keyout".as_ref(),
            key.as_os_str(),
            "-out".as_ref(),
            csr.as_os_str(),
        ])?;
        openssl(&[
            "x509".as_ref(),
            "-req".as_ref(),
            "-days".as_ref(),
            "1".as_ref(),
            "-in".as_ref(),
            csr.as_os_str(),
            "-CA".as_ref(),
            ca.as_os_str(),
            "-CAkey".as_ref(),
            ca_key.as_os_str(),
            "-CAcreateserial".as_ref(),
            "-extfile".as_ref(),
            ext.as_os_str(),
            "-out".as_ref(),
            cert.as_os_str(),
        ])?;
        Ok(TestCa { ca, cert, key })
    }
}

fn openssl(args: &[&std::ffi::OsStr]) -> io::Result<()> {
    let out = Command::new("openssl").args(args).output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run openssl (apt-get install openssl): {e}"),
        )
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {:?} failed: {}",
            args.first(),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}
