module github.com/smhupload/smh-upload

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/norunners/vert v0.0.0-20221203075838-106a353d42dd
	github.com/stretchr/testify v1.12.1
	github.com/syumai/workers v0.33.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
