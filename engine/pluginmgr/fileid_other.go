//go:build !linux

package pluginmgr

import "errors"

// identity is implemented for Linux only; elsewhere nothing is cached and
// every binary is hashed and described each time.
func identity(string) (fileID, error) {
	return fileID{}, errors.New("file identity is only implemented on Linux")
}
