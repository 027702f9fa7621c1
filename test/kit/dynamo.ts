import type { AddressInfo } from 'node:net'
import { CreateTableCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import dynalite from 'dynalite'
import { createDocumentClient } from '../../shared/adapters/aws/clients.ts'
import { DynamoGrantStore } from '../../shared/adapters/dynamodb/grant-store.ts'
import { grantTableDefinition } from '../../shared/adapters/dynamodb/table.ts'

export interface EmbeddedDynamo {
  client: DynamoDBDocumentClient
  store: DynamoGrantStore
  tableName: string
  /** Every DynamoDB operation sent through `client` (PutItem, UpdateItem, ...), in order. */
  commands: string[]
  close(): Promise<void>
}

/**
 * The embedded DynamoDB server (dynalite, in memory) on a loopback port, with the grant table
 * created from the same definition the local control plane uses, and the real SDK client.
 */
export async function startEmbeddedDynamo(tableName = 'keyless-grants'): Promise<EmbeddedDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const client = createDocumentClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  const commands: string[] = []
  client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(String(context.commandName).replace(/Command$/, ''))
      return next(args)
    },
    { step: 'initialize', name: 'recordCommands' },
  )
  await client.send(new CreateTableCommand(grantTableDefinition(tableName)))
  return {
    client,
    store: new DynamoGrantStore(client, tableName),
    tableName,
    commands,
    close: () =>
      new Promise<void>((resolve, reject) => {
        client.destroy()
        server.closeAllConnections() // keep-alive sockets would hold the close for seconds
        server.close((error?: Error) => (error ? reject(error) : resolve()))
      }),
  }
}
