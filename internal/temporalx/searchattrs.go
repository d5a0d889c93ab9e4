// Package temporalx holds small helpers around the Temporal SDK that the worker
// and the tools share.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// ErrSearchAttributeConflict is wrapped by EnsureSearchAttributes' error when an
// attribute already exists on the namespace with another type.
var ErrSearchAttributeConflict = errors.New("search attribute exists with a different type")

// EnsureSearchAttributes registers on namespace every attribute of want that is
// not there yet, through the OperatorService, and returns the names it added,
// sorted. It is idempotent: attributes already registered with the wanted type
// are left alone, so a second call adds nothing. An attribute that exists with a
// different type (custom or system) is an error wrapping
// ErrSearchAttributeConflict and naming it; nothing is added then.
//
// If another process adds the same attributes concurrently and the server rejects
// our request, the call still succeeds once the namespace has them all (added is
// then empty).
//
// On a SQL-backed server the namespace's attribute cache may take a few seconds to
// see new attributes; the dev server refreshes it on every read.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enums.IndexedValueType) (added []string, err error) {
	if c == nil {
		return nil, errors.New("ensure search attributes: nil client")
	}
	if namespace == "" {
		return nil, errors.New("ensure search attributes: empty namespace")
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		typ := want[name]
		if name == "" {
			return nil, errors.New("ensure search attributes: empty attribute name")
		}
		if _, ok := enums.IndexedValueType_name[int32(typ)]; !ok || typ == enums.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return nil, fmt.Errorf("ensure search attributes: attribute %q has invalid type %d", name, typ)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}

	missing, err := missingSearchAttributes(ctx, c, namespace, want)
	if err != nil || len(missing) == 0 {
		return nil, err
	}

	req := &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: make(map[string]enums.IndexedValueType, len(missing)),
	}
	for _, name := range missing {
		req.SearchAttributes[name] = want[name]
	}
	if _, addErr := c.OperatorService().AddSearchAttributes(ctx, req); addErr != nil {
		// Someone may have added them meanwhile (e.g. another worker starting).
		if still, err := missingSearchAttributes(ctx, c, namespace, want); err == nil && len(still) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("ensure search attributes: add %s to namespace %q: %w",
			strings.Join(missing, ", "), namespace, addErr)
	}
	return missing, nil
}

// missingSearchAttributes lists, sorted, the attributes of want that namespace
// lacks, or fails if one exists with another type.
func missingSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enums.IndexedValueType) ([]string, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("ensure search attributes: list those of namespace %q: %w", namespace, err)
	}
	var missing, conflicts []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		typ := want[name]
		have, ok := resp.GetCustomAttributes()[name]
		if !ok {
			have, ok = resp.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing = append(missing, name)
		case have != typ:
			conflicts = append(conflicts, fmt.Sprintf("%s is %s, want %s", name, typeName(have), typeName(typ)))
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("ensure search attributes on namespace %q: %w: %s",
			namespace, ErrSearchAttributeConflict, strings.Join(conflicts, "; "))
	}
	return missing, nil
}

// typeName is the short name of an attribute type ("Keyword", "Int", ...).
func typeName(t enums.IndexedValueType) string {
	for name, v := range enums.IndexedValueType_shorthandValue {
		if v == int32(t) {
			return name
		}
	}
	return t.String()
}
