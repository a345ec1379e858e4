// Package sim is a loopback simulator of the Turbonomic REST API (/api/v3, XL) as far as
// tokenflow and vmt-connect use it: the unauthenticated version probe (admin/versions), the
// form login that sets a JSESSIONID cookie (multipart/form-data, as vmt-connect sends it, and
// application/x-www-form-urlencoded, as turbo-api and IBM's docs do), logout, markets and the
// real-time market, users, groups (members, entities), targets, entities, actions (of the
// market, an entity, a group, a target; see actions.go) and search, with cursor paging
// (x-next-cursor, x-total-record-count) and Turbonomic's error body
// {"type": <status>, "exception": "...", "message": "..."}. The wire facts come from vendors.md
// section 2; this package shares no code with the turbonomic plugin, on purpose.
//
// Entry points: New builds a simulator from a Config (the zero Config is a working XL 8.14.3
// appliance with the DefaultUser administrator); Handler serves it. Inspection and fault hooks
// (Users, Groups, Sessions, SetVersion, SetPageSize, AddEntities, LoseCursorAt) let tests set
// up a scenario and check what the client did.
//
// State is in memory and guarded by one mutex. Every timestamp comes from the simulator's
// clock, so a test advances the clock to expire sessions instead of sleeping.
//
// Decisions where the vendor documents nothing (kept here so they are easy to revisit):
//   - Sessions expire after Config.SessionTTL (default 30 minutes) without use, like a servlet
//     session; each authenticated request renews it. An expired or unknown JSESSIONID gets 401.
//   - admin/versions answers without a session, as vmt-connect's probe needs; set
//     Config.VersionsNeedLogin to make it demand one instead.
//   - POST logout ends the session and answers 200 (the real path is unverified; set
//     Config.NoLogout to answer 404 instead, like a server without it).
//   - Paging: the cursor is the offset of the next page, as XL's look. A request without limit
//     gets Config.PageSize items; limit is capped at Config.MaxPageSize. x-total-record-count is
//     sent on every page. An invalid cursor is a 400.
//   - Users: POST users takes a UserApiDTO (username, password, roleName or roles[].name, type,
//     loginProvider) and answers 200 with the user, never the password. A duplicate username is
//     a 400 "User <name> already exists"; deleting an unknown uuid is a 404. Only ADMINISTRATOR
//     and SITE_ADMIN may manage users, and ADMINISTRATOR, SITE_ADMIN or AUTOMATOR groups;
//     others get 403. Deleting a user ends its sessions.
//   - Groups: unknown member uuids are dropped silently (vmt-connect's validate option exists
//     for that reason).
//   - Search: GET search?types=A,B&q=... lists entities (or groups, for types=Group) of those
//     types; q matches displayName: query_type EXACT (case-sensitive), REGEX, or CONTAINS (the
//     default, case-insensitive). POST search takes {className, criteriaList} whose
//     "...ByName" criteria compare displayName with EQ, NEQ or RXEQ. Both are paged.
//   - Targets: secret input fields (isSecret) are answered without a value.
//   - Logging in, logging out and POST search count as reads for Recorder().Writes().
package sim
