import { attachAccess } from '../../shared/core/grants/tasks.ts'
import { taskHandler } from '../runtime/task-handler.ts'
import { grantTask } from '../runtime/task-inputs.ts'

export const { raw, handler } = taskHandler(grantTask, attachAccess)
