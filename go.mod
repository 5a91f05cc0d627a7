module github.com/picket-monitoring/picket

go 1.26.0

require (
	golang.org/x/crypto v0.47.0
	golang.org/x/time v0.16.0
)

require github.com/BurntSushi/toml v1.6.0

require golang.org/x/sys v0.40.0

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/kardianos/service v1.3.0
	github.com/mattn/go-shellwords v1.0.16
	github.com/robfig/cron/v3 v3.0.1
	golang.org/x/text v0.44.0
	gopkg.in/natefinch/lumberjack.v2 v2.2.1
)

require github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
