import React, { useState } from 'react';
import { Box, Button, DrawerContent, DrawerFooter, Text } from '@adminjs/design-system';
import { ActionHeader, BasePropertyComponent, useRecord } from 'adminjs';
import { SecretPanel, showUrl } from './actions';

/**
 * The "new endpoint" form: the service validates it (its problems appear on the fields), and on success the signing
 * secret is shown here, once, instead of redirecting away from it.
 */
const EndpointCreate = (props: any) => {
  const { record: initialRecord, resource, action } = props;
  const { record, handleChange, submit, loading } = useRecord(initialRecord, resource.id);
  const [created, setCreated] = useState<{ id: string; url: string; secret: string } | null>(null);

  const onSubmit = (event: any) => {
    event.preventDefault();
    submit().then((response: any) => {
      const data = response.data;
      if (data.secret && data.record?.id) setCreated({ id: data.record.id, url: data.record.params.url, secret: data.secret });
    });
    return false;
  };

  if (created) {
    return (
      <Box p="xl" data-testid="endpoint-created">
        <Text mb="md">
          Endpoint <code>{created.url}</code> created.
        </Text>
        <SecretPanel
          secret={created.secret}
          note="The receiver verifies each request's webhook-signature with this secret (Standard Webhooks)."
        />
        <Box mt="xl">
          <a href={showUrl(resource.id, created.id)} data-testid="created-endpoint-link">
            Go to the endpoint
          </a>
        </Box>
      </Box>
    );
  }

  return (
    <Box as="form" flex flexGrow={1} flexDirection="column" onSubmit={onSubmit} data-testid="endpoint-form">
      <DrawerContent>
        {action?.showInDrawer ? <ActionHeader {...props} /> : null}
        {resource.editProperties.map((property: any) => (
          <BasePropertyComponent
            key={property.propertyPath}
            where="edit"
            onChange={handleChange}
            property={property}
            resource={resource}
            record={record}
          />
        ))}
      </DrawerContent>
      <DrawerFooter>
        <Button variant="contained" type="submit" disabled={loading} data-testid="button-save">
          Save
        </Button>
      </DrawerFooter>
    </Box>
  );
};

export default EndpointCreate;
