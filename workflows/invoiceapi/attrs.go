package invoiceapi

import "sort"

func sortedAttrNames() []string {
	out := make([]string, 0, len(SearchAttributes))
	for k := range SearchAttributes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
