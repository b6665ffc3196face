import React from 'react';
import { Box, Label, Table, TableBody, TableCell, TableHead, TableRow, Text } from '@adminjs/design-system';
import { ViewHelpers } from 'adminjs';
import { StateBadge, formatDate, jsonParam, usePropertyLabel } from './badges';

const h = new ViewHelpers();

/** The endpoint's latest deliveries with their status, linked to each delivery's page. */
const RecentDeliveries = (props: any) => {
  const { record, property } = props;
  const label = usePropertyLabel(property);
  const deliveries: any[] = jsonParam(record, property.path, []);
  return (
    <Box mb="xl" data-testid="recent-deliveries">
      <Label variant="light">
        {label} (last {deliveries.length})
      </Label>
      {deliveries.length === 0 ? (
        <Text>No deliveries yet.</Text>
      ) : (
        <Table>
          <TableHead>
            <TableRow>
              <TableCell>Status</TableCell>
              <TableCell>Topic</TableCell>
              <TableCell>Attempts</TableCell>
              <TableCell>Last code</TableCell>
              <TableCell>Last error</TableCell>
              <TableCell>Created</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {deliveries.map((d) => (
              <TableRow key={d.id} data-testid={`delivery-${d.status}`}>
                <TableCell>
                  <a href={h.recordActionUrl({ resourceId: 'WebhookDelivery', recordId: d.id, actionName: 'show' })}>
                    <StateBadge state={d.status} />
                  </a>
                </TableCell>
                <TableCell>
                  <code>{d.topic}</code>
                </TableCell>
                <TableCell>{d.attemptCount}</TableCell>
                <TableCell>{d.lastResponseStatus ?? '—'}</TableCell>
                <TableCell
                  style={{ maxWidth: 320, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}
                  title={d.lastError ?? ''}
                >
                  {d.lastError ?? ''}
                </TableCell>
                <TableCell>{formatDate(d.createdAt)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Box>
  );
};

export default RecentDeliveries;
