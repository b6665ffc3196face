import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { flat } from 'adminjs';

const TopicsList = (props: any) => {
  const { record, property, where } = props;
  const topics: string[] = flat.get(record?.params ?? {}, property.path) ?? [];
  const list = (
    <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
      {topics.map((t) => (
        <code key={t} style={{ background: '#eef2ff', borderRadius: 4, padding: '1px 6px', fontSize: 12 }}>
          {t}
        </code>
      ))}
    </span>
  );
  if (where !== 'show') return list;
  return (
    <Box mb="xl">
      <Label>{property.label}</Label>
      {list}
    </Box>
  );
};

export default TopicsList;
