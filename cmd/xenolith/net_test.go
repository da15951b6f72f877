package main

import "testing"

func TestParseNetSpecs(t *testing.T) {
	got, err := parseNetSpecs([]string{"switch:lan0", "tap:xt0,mac=00:16:3e:00:00:09"})
	if err != nil || len(got) != 2 || got[1].MAC.String() != "00:16:3e:00:00:09" {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := parseNetSpecs([]string{"hub:x"}); err == nil {
		t.Error("bad spec accepted")
	}
}
