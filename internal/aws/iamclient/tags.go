package iamclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// ListTags returns a device's tags, following IAM's pages to the end.
func (c *Client) ListTags(ctx context.Context, serial string) (map[string]string, error) {
	return c.listTags(ctx, serial)
}

func (c *Client) listTags(ctx context.Context, serial string, optFns ...func(*iam.Options)) (map[string]string, error) {
	tags := map[string]string{}
	p := iam.NewListMFADeviceTagsPaginator(c.iam, &iam.ListMFADeviceTagsInput{SerialNumber: aws.String(serial), MaxItems: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, optFns...)
		if err != nil {
			return nil, fmt.Errorf("iam:ListMFADeviceTags %s: %w", serial, classify(plain(err)))
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

// Tag adds or overwrites tags on a device.
func (c *Client) Tag(ctx context.Context, serial string, tags map[string]string) error {
	in := &iam.TagMFADeviceInput{SerialNumber: aws.String(serial)}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := c.iam.TagMFADevice(ctx, in); err != nil {
		return fmt.Errorf("iam:TagMFADevice: %w", classify(plain(err)))
	}
	return nil
}

// Untag removes tag keys from a device.
func (c *Client) Untag(ctx context.Context, serial string, keys []string) error {
	if _, err := c.iam.UntagMFADevice(ctx, &iam.UntagMFADeviceInput{SerialNumber: aws.String(serial), TagKeys: keys}); err != nil {
		return fmt.Errorf("iam:UntagMFADevice: %w", classify(plain(err)))
	}
	return nil
}
