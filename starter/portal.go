package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const portalLinkUsage = `usage: starter portal-link CUSTOMER_ID [-expires-in 168h]   a new link to the customer's portal page
       starter portal-link revoke CUSTOMER_ID [LINK_ID]   revoke one link, or all of the customer's

It calls POST /v1/customers/ID/portal-link and DELETE /v1/customers/ID/portal-links[/LINK]
(operator scope) with DUNWELL_API_KEY.`

// portalLink runs `starter portal-link ...`: it prints the link's URL and expiry.
func portalLink(ctx context.Context, args []string, out io.Writer) error {
	switch {
	case (len(args) == 1 || len(args) == 3 && (args[1] == "-expires-in" || args[1] == "--expires-in")) &&
		!strings.HasPrefix(args[0], "-") && args[0] != "revoke":
		var body []byte
		if len(args) == 3 {
			var err error
			if body, err = json.Marshal(map[string]string{"expires_in": args[2]}); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		if err := callAPI(ctx, http.MethodPost, "/v1/customers/"+url.PathEscape(args[0])+"/portal-link", body, &buf); err != nil {
			return err
		}
		var link struct {
			ID        int64  `json:"id"`
			URL       string `json:"url"`
			ExpiresAt string `json:"expires_at"`
		}
		if err := json.Unmarshal(buf.Bytes(), &link); err != nil {
			return fmt.Errorf("reading the link: %w", err)
		}
		_, err := fmt.Fprintf(out, "%s\n(link %d, works until %s)\n", link.URL, link.ID, link.ExpiresAt)
		return err
	case (len(args) == 2 || len(args) == 3) && args[0] == "revoke":
		path := "/v1/customers/" + url.PathEscape(args[1]) + "/portal-links"
		if len(args) == 3 {
			if _, err := strconv.ParseInt(args[2], 10, 64); err != nil {
				return usageError{"starter portal-link revoke CUSTOMER_ID LINK_ID: LINK_ID is the number the link was made with"}
			}
			path += "/" + args[2]
		}
		return callAPI(ctx, http.MethodDelete, path, nil, out)
	}
	return usageError{portalLinkUsage}
}

const planRequestsUsage = `usage: starter plan-requests [pending|approved|rejected|all]   plans customers asked for on the portal
       starter plan-requests approve ID [-reason TEXT]       agree the plan (the invoice's plan update)
       starter plan-requests reject ID [-reason TEXT]

It calls GET /v1/plan-requests (read scope) and POST /v1/plan-requests/ID/approve|reject
(operator scope) with DUNWELL_API_KEY.`

// planRequests runs `starter plan-requests ...`.
func planRequests(ctx context.Context, args []string, out io.Writer) error {
	if len(args) >= 2 && (args[0] == "approve" || args[0] == "reject") {
		if _, err := strconv.ParseInt(args[1], 10, 64); err != nil {
			return usageError{planRequestsUsage}
		}
		var reason string
		switch rest := args[2:]; {
		case len(rest) == 2 && (rest[0] == "-reason" || rest[0] == "--reason"):
			reason = rest[1]
		case len(rest) != 0:
			return usageError{planRequestsUsage}
		}
		body, err := json.Marshal(map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		return callAPI(ctx, http.MethodPost, "/v1/plan-requests/"+args[1]+"/"+args[0], body, out)
	}
	status := "pending"
	switch {
	case len(args) == 0:
	case len(args) == 1 && (args[0] == "pending" || args[0] == "approved" || args[0] == "rejected"):
		status = args[0]
	case len(args) == 1 && args[0] == "all":
		status = ""
	default:
		return usageError{planRequestsUsage}
	}
	path := "/v1/plan-requests"
	if status != "" {
		path += "?status=" + status
	}
	return callAPI(ctx, http.MethodGet, path, nil, out)
}
