//! Test certificates made with `openssl`: a CA, a server certificate it
//! signed for `127.0.0.1`/`localhost` and a client certificate for mutual
//! TLS, as PEM files in a temporary directory that lives as long as the
//! [`TestCerts`].

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A test CA with one server and one client certificate.
#[derive(Debug)]
pub struct TestCerts {
    dir: TempDir,
}

impl TestCerts {
    /// Makes the CA and both certificates (RSA 2048, valid one day).
    ///
    /// Fails when `openssl` is not installed (the error says how to install
    /// it) or refuses a step (the error quotes its output).
    pub fn create() -> io::Result<TestCerts> {
        let certs = TestCerts {
            dir: tempfile::Builder::new().prefix("omni-certs-").tempdir()?,
        };
        let path = |name: &str| certs.path(name).to_string_lossy().into_owned();
        std::fs::write(
            certs.path("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )?;
        std::fs::write(
            certs.path("client.ext"),
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )?;
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Omniroute Test CA",
            "-keyout",
            &path("ca.key"),
            "-out",
            &path("ca.pem"),
        ])?;
        for (leaf, cn) in [("server", "127.0.0.1"), ("client", "omni")] {
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &path(&format!("{leaf}.key")),
                "-out",
                &path(&format!("{leaf}.csr")),
            ])?;
            openssl(&[
                "x509",
                "-req",
                "-days",
                "1",
                "-in",
                &path(&format!("{leaf}.csr")),
                "-CA",
                &path("ca.pem"),
                "-CAkey",
                &path("ca.key"),
                "-CAcreateserial",
                "-extfile",
                &path(&format!("{leaf}.ext")),
                "-out",
                &path(&format!("{leaf}.pem")),
            ])?;
        }
        Ok(certs)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// The server certificate (PEM), for `127.0.0.1` and `localhost`.
    pub fn server_cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    /// The server certificate's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.path("server.key")
    }

    /// The client certificate (PEM), for mutual TLS.
    pub fn client_cert(&self) -> PathBuf {
        self.path("client.pem")
    }

    /// The client certificate's private key (PEM).
    pub fn client_key(&self) -> PathBuf {
        self.path("client.key")
    }

    /// Copies the CA, the server certificate and its key into `dir` (for
    /// a test whose files must outlive this value): `(ca, cert, key)`. The
    /// server certificate also serves as a client identity (a part that
    /// presents its own certificate to another under mutual TLS).
    pub fn server_files_in(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf, PathBuf)> {
        let copy = |from: PathBuf, name: &str| -> io::Result<PathBuf> {
            let to = dir.join(name);
            std::fs::copy(from, &to)?;
            Ok(to)
        };
        Ok((
            copy(self.ca(), "ca.pem")?,
            copy(self.server_cert(), "server.pem")?,
            copy(self.server_key(), "server.key")?,
        ))
    }

    /// The directory holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs `openssl` with `args`; its output is the error when it fails.
fn openssl(args: &[&str]) -> io::Result<()> {
    let out = Command::new("openssl").args(args).output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            io::Error::new(
                io::ErrorKind::NotFound,
                "openssl not found: install it with `apt-get install openssl`",
            )
        } else {
            io::Error::new(e.kind(), format!("cannot run openssl: {e}"))
        }
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_and_client_certificates_verify_against_the_ca() {
        let certs = TestCerts::create().expect("certificates");
        for leaf in [certs.server_cert(), certs.client_cert()] {
            let out = Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(certs.ca())
                .arg(&leaf)
                .output()
                .expect("openssl verify");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        assert!(certs.server_key().is_file() && certs.client_key().is_file());
    }
}
