package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// NewCertificate makes a throwaway self-signed certificate, as Start does with Config.TLS, for 127.0.0.1,
// ::1, localhost and hosts (IP addresses or DNS names): for a caller that serves New's handlers on
// listeners of its own, behind a proxy say, over HTTPS. Serve it in a tls.Config's Certificates; a client
// trusts its Leaf, which is its own CA.
func NewCertificate(hosts ...string) (tls.Certificate, error) {
	return selfSigned(time.Now(), append([]string{"127.0.0.1", "::1", "localhost"}, hosts...))
}

// selfSigned makes a throwaway certificate for hosts (IP addresses or DNS names), valid from an hour
// before now for a year. It is its own CA (as httptest's is), so a client can trust it directly:
// NODE_EXTRA_CA_CERTS, a Go x509.CertPool, a browser's trust store. TLS validity is checked against the
// client's wall clock, so now is the real time, not Config.Now.
func selfSigned(now time.Time, hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"smh-upload emulator"}, CommonName: "smh-emulator"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: tls certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: tls certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
