package iamlocal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

func TestGetGroup(t *testing.T) {
	srv, c := start(t, nil, iamlocal.Options{})
	for _, u := range []string{"dave", "Carol", "bob", "alice", "erin"} {
		if err := srv.CreateUser(u, "/staff/"); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.CreateGroup("eng", "/teams/"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateGroup("ENG", ""); err == nil {
		t.Error("a second group ENG was created")
	}
	for _, u := range []string{"erin", "carol", "alice", "dave", "alice"} {
		if err := srv.AddUserToGroup("Eng", u); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.AddUserToGroup("eng", "nobody"); err == nil {
		t.Error("a missing user was added")
	}
	var names []string
	pages := 0
	p := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: aws.String("eng"), MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if got := aws.ToString(out.Group.Arn); got != "arn:aws:iam::123456789012:group/teams/eng" {
			t.Errorf("group ARN %q", got)
		}
		for _, u := range out.Users {
			if aws.ToString(u.Path) != "/staff/" {
				t.Errorf("user %s at path %q", aws.ToString(u.UserName), aws.ToString(u.Path))
			}
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if want := "alice Carol dave erin"; pages != 2 || strings.Join(names, " ") != want {
		t.Errorf("%d pages of %q, want 2 of %q", pages, strings.Join(names, " "), want)
	}
	_, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("ops")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetGroup of a missing group: %v, want NoSuchEntity", err)
	}
}
