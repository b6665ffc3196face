import React, { useEffect, useState } from 'react';
import { Box, H2, Input, Loader, MessageBox, Text } from '@adminjs/design-system';
import { ApiClient } from 'adminjs';
import { Code } from './badges';

const api = new ApiClient();

interface EventType {
  name: string;
  description?: string;
  schema: Record<string, any>;
}

/** The fields of an event's `data` with their types, from its schema: a quick read before the whole schema. */
const fieldsOf = (schema: Record<string, any>): string => {
  const data = schema?.properties?.data;
  const properties = data?.properties;
  if (!properties) return data?.type ? `data: ${[].concat(data.type).join(' | ')}` : 'data: any JSON';
  return Object.entries(properties)
    .map(([name, s]: [string, any]) => `${name}: ${s.type ? [].concat(s.type).join(' | ') : 'any'}${s.format ? ` (${s.format})` : ''}`)
    .join(', ');
};

/** Every topic endpoints can subscribe to, with the JSON Schema of its body (the event catalogue). */
const EventCatalogue = () => {
  const [types, setTypes] = useState<EventType[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    api
      .getPage({ pageName: 'eventCatalogue' })
      .then((response: any) => setTypes(response.data))
      .catch((e: Error) => setError(e.message));
  }, []);
  if (error) return <MessageBox m="xl" variant="danger" message={`The event catalogue could not load: ${error}`} />;
  if (!types) return <Loader />;
  const shown = types.filter((t) => t.name.includes(filter.trim()));
  return (
    <Box p="xxl" data-testid="event-catalogue">
      <H2 mb="lg">Event catalogue</H2>
      <Text mb="lg">
        {types.length} topics. Each body is a JSON Schema (draft 2020-12) of what an endpoint without its own fields or transform receives.
      </Text>
      <Input
        mb="xl"
        placeholder="Filter topics"
        value={filter}
        onChange={(e: any) => setFilter(e.target.value)}
        data-testid="catalogue-filter"
      />
      {shown.map((t) => (
        <Box
          key={t.name}
          mb="lg"
          p="lg"
          data-testid={`catalogue-topic-${t.name}`}
          style={{ background: '#fff', borderRadius: 8, boxShadow: '0 1px 3px rgba(0,0,0,.08)' }}
        >
          <a
            href="#"
            onClick={(e) => (e.preventDefault(), setOpen(open === t.name ? null : t.name))}
            data-testid={`catalogue-open-${t.name}`}
          >
            <strong>{t.name}</strong>
          </a>
          {t.description ? <Text mt="sm">{t.description}</Text> : null}
          <Text mt="sm" style={{ color: '#4b5563', fontSize: 13 }}>
            {fieldsOf(t.schema)}
          </Text>
          {open === t.name ? <Code text={JSON.stringify(t.schema, null, 2)} testId={`catalogue-schema-${t.name}`} /> : null}
        </Box>
      ))}
    </Box>
  );
};

export default EventCatalogue;
