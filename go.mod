module github.com/smhupload/smh-upload

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	golang.org/x/sync v0.25.0
)

require (
	github.com/norunners/vert v0.0.0-20221203075838-106a353d42dd // indirect
	github.com/syumai/workers v0.33.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
