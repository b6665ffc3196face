import React from 'react';
import { flat } from 'adminjs';
import { ShowField } from './badges';

const TopicsList = ({ record, property, where }: any) => {
  const topics: string[] = flat.get(record?.params ?? {}, property.path) ?? [];
  return (
    <ShowField where={where} property={property}>
      <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
        {topics.map((t) => (
          <code key={t} style={{ background: '#eef2ff', borderRadius: 4, padding: '1px 6px', fontSize: 12 }}>
            {t}
          </code>
        ))}
      </span>
    </ShowField>
  );
};

export default TopicsList;
