package smh_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// Upload a file natively. Against the real service, Endpoint is
// https://api.tencentsmh.cn and the token comes from your token broker.
func ExampleUpload() {
	emu, err := emulator.Start(emulator.Config{AccessToken: "example-token"}) // a local SMH
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	tr := nethttp.New()
	client, err := smh.NewClient(smh.ClientConfig{Endpoint: emu.Endpoint, LibraryID: emu.LibraryID(), AccessToken: "example-token"}, tr)
	if err != nil {
		log.Fatal(err)
	}
	data := bytes.Repeat([]byte("smh"), 3<<20) // 9 MiB: two parts of 8 MiB and 1 MiB
	file, err := smh.Upload(context.Background(), client, tr, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
		smh.Options{Path: "videos/clip.bin"})
	if err != nil {
		log.Fatal(err) // an *smh.Error: errors.Is(err, smh.ErrIntegrity), smh.ConfirmKeyOf(err), …
	}
	fmt.Println(file.Path, file.SizeBytes())
	// Output: [videos clip.bin] 9437184
}
