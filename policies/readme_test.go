package policies

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/dunwell/dunwell/policy"
)

// TestReadmeExampleIsValidAndComplete: the commented example in README.md parses, and
// it shows every field of the format.
func TestReadmeExampleIsValidAndComplete(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var example string
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(block[1], "id: example") {
			example = block[1]
		}
	}
	if example == "" {
		t.Fatal("README.md has no example policy")
	}
	rates, err := LoadRates("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseFile("README.md", []byte(example), rates)
	if err != nil {
		t.Fatal(err)
	}
	// Every yaml field of the format appears as a key in the example (the fixed-amount
	// late fee is shown commented out, since it excludes percent).
	var missing []string
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(policy.Offset{}) {
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !regexp.MustCompile(`(?m)[\s{,#]` + name + `:`).MatchString(example) {
				missing = append(missing, typ.Name()+"."+name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(*p))
	if len(missing) > 0 {
		t.Errorf("README.md's example does not show %v", missing)
	}
}
