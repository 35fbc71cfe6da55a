package iamlocal

import (
	"sort"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
)

// Groups are minimal: tests make them with [Server.CreateGroup] and
// [Server.AddUserToGroup], and GetGroup reads one, its members a page at a
// time, as IAM answers it.

// group is an IAM group held by the endpoint.
type group struct {
	name, path, id, arn string
	createDate          time.Time
	members             map[string]bool // lower-case user names
}

type xmlGroup struct {
	Path       string
	GroupName  string
	GroupId    string
	Arn        string
	CreateDate string
}

type getGroupResult struct {
	Group xmlGroup
	Users struct {
		Members []xmlUser `xml:"member"`
	}
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func validateGroupName(name string) *APIError {
	if len(name) < 1 || len(name) > 128 || !userNameRE.MatchString(name) {
		return Errorf("ValidationError", "1 validation error detected: Value '%s' at 'groupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 128", name)
	}
	return nil
}

// CreateGroup adds an empty group as CreateGroup would (path "" is "/").
func (s *Server) CreateGroup(name, path string) error {
	if path == "" {
		path = "/"
	}
	if err := validateGroupName(name); err != nil {
		return err
	}
	if err := validatePath(path); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string]*group{}
	}
	if _, ok := s.groups[strings.ToLower(name)]; ok {
		return Errorf("EntityAlreadyExists", "Group with name %s already exists.", name)
	}
	id := "AGPA" + newUserID()[4:]
	s.groups[strings.ToLower(name)] = &group{
		name: name, path: path, id: id, arn: device.ARN("", s.account, "group"+path+name),
		createDate: s.now(), members: map[string]bool{},
	}
	return nil
}

// AddUserToGroup makes an existing user a member of an existing group, as
// AddUserToGroup would; adding a member again changes nothing.
func (s *Server) AddUserToGroup(groupName, userName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(groupName)
	if err != nil {
		return err
	}
	u, err := s.user(userName)
	if err != nil {
		return err
	}
	g.members[strings.ToLower(u.Name)] = true
	return nil
}

// group finds a group by name (any case); the caller holds s.mu.
func (s *Server) group(name string) (*group, *APIError) {
	if err := validateGroupName(name); err != nil {
		return nil, err
	}
	g, ok := s.groups[strings.ToLower(name)]
	if !ok {
		return nil, Errorf("NoSuchEntity", "The group with name %s cannot be found.", name)
	}
	return g, nil
}

// handleGetGroup is GetGroup: the group and its users, by name, paged.
func (s *Server) handleGetGroup(f formValues) (any, *APIError) {
	s.mu.Lock()
	g, err := s.group(f.get("GroupName"))
	var res getGroupResult
	var all []xmlUser
	if err == nil {
		res.Group = xmlGroup{Path: g.path, GroupName: g.name, GroupId: g.id, Arn: g.arn, CreateDate: g.createDate.Format(time.RFC3339)}
		for key := range g.members {
			if u, ok := s.users[key]; ok {
				all = append(all, *u.xml())
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	key := func(u xmlUser) string { return strings.ToLower(u.UserName) }
	sort.Slice(all, func(i, j int) bool { return key(all[i]) < key(all[j]) })
	items, next, err := page(f, all, key)
	if err != nil {
		return nil, err
	}
	res.Users.Members = items
	res.IsTruncated, res.Marker = next != "", next
	return res, nil
}
