//! Sagat issuer: turns ledger projections into signed credentials, QR codes and PDF certificates.
