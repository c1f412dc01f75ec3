package netx

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// AllCipherSuites is every suite crypto/tls implements, insecure ones
// included: probes accept whatever a server offers and judge it later.
var AllCipherSuites = func() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}()

// LoadCertPool reads a PEM bundle (--ca_file) into a pool; a file without
// a certificate is an error.
func LoadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
